"""Facts every stage reads and none may restate: AWS facts, resource-type facts, the resource schemas, IAM rules.

The bottom layer: it imports nothing else of cfngen.
"""
