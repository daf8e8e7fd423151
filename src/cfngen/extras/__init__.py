"""Side products made from a blueprint beside its templates.

Files for a service's repository (``_service_files``), the least policy of a
CI deploy role (``_ci_policy``) and a new project's scaffold (``_scaffold``).
Their public functions are exported by ``cfngen``.
"""
