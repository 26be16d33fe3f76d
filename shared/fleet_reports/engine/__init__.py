"""The engine: fixes in, report documents out. Pure numpy; never imports boto3.

Where things are
================

Each rule of docs/analytics.md is one function; the plugins build their sheets from them.

Primitives (``engine/intervals.py`` unless said otherwise)

=============================================  ===================================================
what                                           where
=============================================  ===================================================
runs of True, broken by gaps                   ``intervals.runs(mask, breaks)`` -> first, last
runs of equal keys (a day's rows)              ``intervals.key_runs(keys)``
which fixes some index ranges hold (union)     ``intervals.cover(n, first, last)``
the fixes of index ranges; a column reduced    ``intervals.expand_ranges``, ``intervals.range_reduce``
over each
a table of time intervals (length, durations,  ``intervals.Intervals``, extended by
``take``, ``empty``)                           ``motion.Trips``, ``motion.Parkings``,
                                               ``zones.Visits``, ``plugins.speeding.Violations``,
                                               ``plugins.geofences.TrackerVisits``,
                                               ``plugins.engine_hours.EngineIntervals``
time inside sorted, disjoint intervals         ``intervals.time_on_function``, ``intervals.overlap_s``
the ignition of a tracker; ignition-on         ``ignition.ignition_series``, ``ignition.on_intervals``
intervals
which driver drove at time t                   ``drivers.drivers_at``
a table's row groups (day; driver and day)     ``plugins.common.row_groups`` (each plugin's
                                               ``DRIVER_ORDER``)
address cells with coordinates                 ``plugins.common.place_cell``, ``with_coordinates``
local days, time filter windows, cuts          ``timefilter.local_days``, ``windows``,
                                               ``clip_to_windows``, ``cut_trips``
=============================================  ===================================================

Rules (docs/analytics.md, in its order)

=============================================  ===================================================
rule                                           where
=============================================  ===================================================
cleaning                                       ``clean.clean``
trips and parkings, all rules chained          ``motion.segment``
moving (motion speed; threshold)               ``motion.derived_speeds``, ``motion.moving_fixes``
rolling ends                                   ``motion.extend_rolling``
parked jitter                                  ``motion.suppress_blips``
silent halt                                    ``motion.silent_halts``
data gaps                                      ``motion.data_gaps``
ignition                                       ``motion.ignition_aware``, ``motion.parkable_fixes``
parking (duration, radius, ignition off)       ``motion.parking_qualifies``
parking: short stays joined (smart filter)     ``motion.join_stays``
back-dating (when a standstill ends)           ``motion.standstill_end_ms``
trips between parkings                         ``motion.trip_spans``
distance                                       ``motion.counted_legs``
data gaps bridged inside trips (the note)      ``motion.bridged_gaps``
reported speed                                 ``motion.fix_speeds``
average speed; max speed >= average            ``motion.average_speed_kmh``,
                                               ``motion.at_least_average``
smart filter                                   ``motion.smart_filter_keeps``
``split: false``                               ``motion.merge_by_day``
``time_filter``                                ``timefilter.windows``, ``timefilter.clip_to_windows``,
                                               ``timefilter.cut_trips``
odometer                                       ``plugins.trips.odometer_km``
odometer history, day by day (figures kept)    ``odometer.odometer_start``, ``odometer.day_figures``
idle time after a trip                         ``plugins.trips.idle_after``
stops and their ignition-on time               ``plugins.stops.compute_stops``
engine hours: intervals; motion / idle         ``plugins.engine_hours.engine_on_intervals``,
                                               ``plugins.engine_hours.motion_function``
geofence visits                                ``zones.visits``, ``plugins.geofences.compute_visits``
the zone that names a point                    ``zones.most_specific``
speed violations; only inside kept trips       ``plugins.speeding.over_limit_runs``,
                                               ``plugins.speeding.overlaps_trips``
sensor buckets                                 ``plugins.sensors.bucketize``
=============================================  ===================================================

A plugin is one module of ``engine/plugins/`` with ``compute(ctx, params, data)`` (one tracker's
part) and ``sheets(ctx, params, results)`` (the report's sheets from every part), so that any
report can be split across workers (``engine.report.compute_part`` / ``assemble_report``, the
parts kept as bytes by ``engine.parts``); the sheets, and the whole report document, are typed
in ``engine/document.py``.
"""
