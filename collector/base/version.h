/* version: the collector's version string. */
#ifndef COL_VERSION_H
#define COL_VERSION_H

/* Borrowed static string, e.g. "0.1.0". */
const char *col_version(void);

#endif
