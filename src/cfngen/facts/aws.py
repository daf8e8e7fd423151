"""Facts about AWS services that the blueprint checks and the builders size things by.

Each table says where it comes from; a fact written here is read from here only.
"""

from __future__ import annotations

# The provisioned instance classes Aurora MySQL 3 runs on, with their memory in GiB (AWS's instance class
# tables). The schema accepts exactly these; the monitoring stack derives each one's default
# max_connections from its memory (see builders/monitoring.py).
AURORA_MYSQL_INSTANCE_MEMORY_GIB: dict[str, int] = {
    "db.t3.medium": 4, "db.t3.large": 8, "db.t4g.medium": 4, "db.t4g.large": 8,
    "db.r5.large": 16, "db.r5.xlarge": 32, "db.r5.2xlarge": 64, "db.r5.4xlarge": 128,
    "db.r5.8xlarge": 256, "db.r5.12xlarge": 384, "db.r5.16xlarge": 512, "db.r5.24xlarge": 768,
    "db.r6g.large": 16, "db.r6g.xlarge": 32, "db.r6g.2xlarge": 64, "db.r6g.4xlarge": 128,
    "db.r6g.8xlarge": 256, "db.r6g.12xlarge": 384, "db.r6g.16xlarge": 512,
    "db.r6i.large": 16, "db.r6i.xlarge": 32, "db.r6i.2xlarge": 64, "db.r6i.4xlarge": 128,
    "db.r6i.8xlarge": 256, "db.r6i.12xlarge": 384, "db.r6i.16xlarge": 512, "db.r6i.24xlarge": 768,
    "db.r6i.32xlarge": 1024,
    "db.r7g.large": 16, "db.r7g.xlarge": 32, "db.r7g.2xlarge": 64, "db.r7g.4xlarge": 128,
    "db.r7g.8xlarge": 256, "db.r7g.12xlarge": 384, "db.r7g.16xlarge": 512,
    "db.x2g.large": 32, "db.x2g.xlarge": 64, "db.x2g.2xlarge": 128, "db.x2g.4xlarge": 256,
    "db.x2g.8xlarge": 512, "db.x2g.12xlarge": 768, "db.x2g.16xlarge": 1024,
}
