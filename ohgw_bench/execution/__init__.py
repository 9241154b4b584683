"""How trials execute: warm worker processes owned by their run (the default backend)."""
