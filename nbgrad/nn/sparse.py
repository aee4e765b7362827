"""(being written for the nn issue)"""

__all__: list = []
