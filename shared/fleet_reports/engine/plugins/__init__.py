"""Report plugins (Navixy ids): each turns cleaned tracks into the sheets of a report."""
