"""Applying a manifest to the fleet table (idempotently).

``apply_manifest`` reads what the store has for the manifest's entities, resolves the
references the manifest leaves to the store, and raises ``ManifestError`` before writing
anything if a reference does not resolve. Then it writes only what differs: applying the same
manifest twice reports every entity ``unchanged`` the second time (a password is compared with
the stored scrypt hash, never re-hashed when it still matches).

The steps, one module each, share a :class:`~fleet_reports.service.manifest.plan.Plan`:

1. :mod:`.references` reads the stored trackers; with prune, :mod:`.prune` finds the trackers
   and sub-users it would remove;
2. :mod:`.references` checks every reference to the store (nothing is written when one fails);
3. :mod:`.plan` queues the creates and updates, :mod:`.prune` the removals;
4. the queued writes run, unless ``dry_run``.

Exporting is in :mod:`.export`.
"""

from __future__ import annotations

from fleet_reports.service.manifest.checks import check_manifest
from fleet_reports.service.manifest.plan import ApplySummary, Plan, plan_writes
from fleet_reports.service.manifest.prune import find_pruned, plan_prune
from fleet_reports.service.manifest.references import load_trackers, resolve_references
from fleet_reports.service.manifest.schema import Manifest, ManifestError


def apply_manifest(manifest: Manifest, *, prune: bool = False, dry_run: bool = False) -> ApplySummary:
    """Make the store hold what the manifest says (needs FLEET_TABLE).

    Entities the manifest does not list are left alone, unless ``prune``: then the sub-users,
    API keys, trackers, employees, assignments, zones and places of the manifest's users that
    it does not list are removed (tariffs, reports and track data never are). ``dry_run``
    reads and checks everything and reports what would change, writing nothing.
    """
    problems = check_manifest(manifest)
    if problems:
        raise ManifestError(problems)
    plan = Plan(manifest, prune=prune, dry_run=dry_run)
    load_trackers(plan)
    if prune:
        find_pruned(plan)
    resolve_references(plan)
    if plan.problems:
        raise ManifestError(plan.problems)
    plan_writes(plan)
    if prune:
        plan_prune(plan)
    if not dry_run:
        for op in plan.ops:
            op()
    return plan.summary()
