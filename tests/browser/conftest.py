"""The browser tests' notebooks are inputs of test_jupyterlab.py, not notebooks for nbval to collect."""

collect_ignore_glob = ["*.ipynb"]
