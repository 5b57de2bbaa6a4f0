"""Monthly cost estimates per environment, from a dated table of Azure list prices.

Rules, not quotes: list prices in USD for West Europe, pay-as-you-go, as of ``PRICE_TABLE_DATE``,
for the SKUs of the spec, with a small assumed volume of logs and secrets operations.
"""

from __future__ import annotations

from dataclasses import dataclass

from baton.workflows.builder.spec import BuildSpec, Environment, Stack

PRICE_TABLE_DATE = "2026-11-01"
PRICE_SOURCE = "Azure list prices, USD, West Europe, pay-as-you-go (azure.microsoft.com/pricing)"

COMPUTE_MONTHLY = {  # per instance
    "B1": 13.14,
    "B2": 26.28,
    "S1": 69.35,
    "S2": 138.70,
    "P1v2": 83.95,
    "P2v2": 167.90,
    "P1v3": 124.10,
    "Y1": 0.0,  # consumption: the monthly free grant covers a light workload
    "EP1": 146.00,
    "EP2": 292.00,
    "EP3": 584.00,
}
SQL_MONTHLY = {"Basic": 4.90, "S0": 14.72, "S1": 29.43, "S2": 73.60, "P1": 465.00, "P2": 930.00}
GEO_BACKUP_MONTHLY = 12.00
STORAGE_MONTHLY = {"Standard_LRS": 1.20, "Standard_ZRS": 1.50, "Standard_GRS": 2.40, "Standard_GZRS": 2.70}
LOG_GB_PRICE = 2.76
LOG_GB_PER_MONTH = {Environment.DEV: 1.0, Environment.STAGING: 2.0, Environment.PROD: 10.0}
KEY_VAULT_MONTHLY = 1.00


@dataclass(frozen=True)
class CostLine:
    item: str
    sku: str
    monthly: float


def estimate(spec: BuildSpec, environment: Environment) -> list[CostLine]:
    plan = spec.azure.environments[environment]
    compute = "Functions plan" if spec.stack is Stack.FUNCTIONS else "App Service plan"
    lines = [
        CostLine(
            f"{compute} × {plan.instances}",
            plan.app_service_sku,
            COMPUTE_MONTHLY.get(plan.app_service_sku, 0.0) * plan.instances,
        ),
    ]
    if spec.entities:  # a service that keeps nothing gets no database (see infrastructure.uses_database)
        lines.append(CostLine("Azure SQL Database", plan.sql_sku, SQL_MONTHLY.get(plan.sql_sku, 0.0)))
        if plan.sql_geo_redundant:
            lines.append(CostLine("Geo-redundant backups", "RA-GRS", GEO_BACKUP_MONTHLY))
    if spec.stack is Stack.FUNCTIONS:
        lines.append(
            CostLine("Storage account", plan.storage_sku, STORAGE_MONTHLY.get(plan.storage_sku, 2.0))
        )
    gigabytes = LOG_GB_PER_MONTH[environment]
    lines += [
        CostLine(f"Log Analytics + App Insights ({gigabytes:g} GB)", "PerGB2018", gigabytes * LOG_GB_PRICE),
        CostLine("Key Vault", "standard", KEY_VAULT_MONTHLY),
    ]
    return lines


def monthly_totals(spec: BuildSpec) -> dict[str, float]:
    return {e.value: round(sum(line.monthly for line in estimate(spec, e)), 2) for e in Environment}


def unknown_skus(spec: BuildSpec) -> list[str]:
    """SKUs of the spec the price table lacks (their cost shows as 0)."""
    missing = []
    for plan in spec.azure.environments.values():
        if plan.app_service_sku not in COMPUTE_MONTHLY:
            missing.append(plan.app_service_sku)
        if spec.entities and plan.sql_sku not in SQL_MONTHLY:
            missing.append(plan.sql_sku)
    return sorted(set(missing))
