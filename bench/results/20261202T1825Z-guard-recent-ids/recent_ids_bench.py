import timeit, uuid
from collections import OrderedDict
from cachetools import FIFOCache
ids = [uuid.uuid4() for _ in range(200_000)]
cap = 100_000
def fifo():
    c = FIFOCache(cap)
    for i in ids: c[i] = None
def od():
    d = OrderedDict()
    for i in ids:
        if i in d: d.move_to_end(i)
        else:
            d[i] = None
            if len(d) > cap: d.popitem(last=False)
for f in (fifo, od):
    print(f.__name__, min(timeit.repeat(f, number=1, repeat=5)) / len(ids) * 1e6, "us per id")
