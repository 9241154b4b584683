"""Twin tables: every configuration of a fixed sample trained under every warm-start arm with the
same trial seed, stored as per-epoch curves (HPOBench / YAHPO style, with warm-start arms).

``configs`` draws the configurations, ``records`` holds the typed cell record and the table's
files, ``build`` trains the cells on Dask, ``report`` answers the per-configuration question.
"""
