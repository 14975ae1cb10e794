"""cuprum: run external programs safely, typed and fast."""
