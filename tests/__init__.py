"""The tests of Fleet Reports (a package, so that test modules import shared helpers from ``tests.support``)."""
