# Python
from pyo2 import RustDLL
dll = RustDLL('./libmylib.so')
lst = [1, 2, 3, 4, 5]
dll.test('World', lst)
print(lst)          # [6, 2, 3, 4, 5]
