"""A service that takes too long to import."""

import time

from hpcburst.soa import Service

time.sleep(60)
svc = Service("slow")
