"""Built-in task definitions (installed as omnibench.tasks); one small module per family."""
