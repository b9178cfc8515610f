/* rrasfleet-collector: placeholder until the collector issue lands (exits 2). */
#include <stdio.h>

int main(void)
{
    fputs("rrasfleet-collector: not implemented yet\n", stderr);
    return 2;
}
