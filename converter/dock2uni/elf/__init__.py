"""ELF facts: a pure-Python header check (header.py), LIEF in a sandboxed child (lief_adapter.py).

Nothing outside ``lief_adapter`` imports LIEF; everything it returns is plain data
(``facts.ElfFacts``, ``facts.ElfLayout``).
"""
