/*
 * api_op_int: what every route's op starts with, inside the api folder only (outside it,
 * struct col_api_op is opaque: api.h). A route's own op type has it as its first member, so one
 * pointer is both; the router stamps it with the route that began the op, and col_router_finish
 * calls that route's finish. Owns nothing; the route's op owns the memory around it.
 */
#ifndef COL_API_OP_INT_H
#define COL_API_OP_INT_H

struct col_api_route; /* an entry of the router's table (router.c) */

struct col_api_op {
    /* Set by the router once begin has returned COL_API_PENDING, before the op is handed to the
     * caller (which alone may finish it); a route's begin leaves it NULL. */
    const struct col_api_route *route;
};

#endif
