"""Printable documents in Chinese as PDF: the rectification notice and the shelter sign,
built from the register and the follow-ups, in one embedded CJK font (see ``fonts``)."""
