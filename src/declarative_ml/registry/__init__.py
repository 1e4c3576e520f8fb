"""The MLflow Model Registry side: champions, applying decisions, the audit trail.

Stages are encoded as aliases (``@staging``, ``@production``) plus a ``stage`` tag
on each version (``none | staging | production | archived``), since MLflow 3 has
deprecated stages. Only :func:`apply.apply_decision` and :func:`apply.set_stage`
write to the registry.
"""
