"""Built-in model adapters (installed as omnibench.models); one small module per family."""
