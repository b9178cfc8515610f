/* version: the collector's version string (one place, shared by serve and rrasfleetctl). */
#include "version.h"

const char *col_version(void)
{
    return RRAS_VERSION;
}
