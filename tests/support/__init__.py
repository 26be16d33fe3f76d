"""Helpers and builders shared by the tests; test modules import them from here, never from each other.

- :mod:`tests.support.paths` - the repository's folders the tests read (events, fixtures).
- :mod:`tests.support.seed` - the seed: its generate request (from ``events/generate.json``) and
  the trip report it answers, with a drive that reproduces it.
- :mod:`tests.support.drives` - ``Drive``, known-answer drives built leg by leg.
- :mod:`tests.support.reports` - building a report document from in-memory tracks.
- :mod:`tests.support.speeding`, :mod:`~tests.support.geofences`, :mod:`~tests.support.engine_hours`,
  :mod:`~tests.support.sensors` - the contexts and drives of the plugins' unit tests.
- :mod:`tests.support.render` - rendering a document and reading the XLSX, XLS or PDF back.
- :mod:`tests.support.lambdas` - the functions invoked as Lambda would, with their template environment.
- :mod:`tests.support.api` - the demo owner's hash and the seed request through ``GenerateFunction``.
- :mod:`tests.support.golden` - the golden reports' cases and how a report is kept.
- :mod:`tests.support.seed_examples` - the cURL and GET examples of the API reference.
- :mod:`tests.support.network` - the socket block every unit test runs under.
- :mod:`tests.support.properties` - how many examples the property tests try.
"""
