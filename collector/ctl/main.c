/* rrasfleetctl: placeholder until the collector issue lands (exits 2). */
#include <stdio.h>

int main(void)
{
    fputs("rrasfleetctl: not implemented yet\n", stderr);
    return 2;
}
