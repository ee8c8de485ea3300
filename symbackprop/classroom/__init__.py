"""A class: variants of a worksheet, conditions on their numbers, the roster, the class folder, the
answer key, LMS exports and the stress test."""
