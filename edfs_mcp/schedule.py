"""Cron schedules in words. Whether EDFS accepts one, and when it runs, is edfs_mcp.cron's rule.

cron-descriptor loads on first use: serving does not need it until a timer is shown.
"""

from __future__ import annotations

from edfs_mcp.cron import CronError, parse

__all__ = ["NOT_VALID", "describe_cron"]

NOT_VALID = "not a valid EDFS schedule"


def describe_cron(expression: str) -> str:
    """'0 22 * * 1-5' → 'At 22:00, Monday through Friday'. Never raises.

    A cron EDFS refuses gives 'not a valid EDFS schedule: <why>'; one cron-descriptor cannot put
    in words gives the expression itself.
    """
    try:
        parse(expression)
    except CronError as error:
        return f"{NOT_VALID}: {error.reason}"
    try:
        from cron_descriptor import ExpressionDescriptor, Options

        options = Options()
        options.use_24hour_time_format = True
        return str(ExpressionDescriptor(expression, options).get_description())
    except Exception:  # cron-descriptor raises several unrelated types on odd input
        return expression
