/* user_lookup: a login (or COM_CHANGE_USER) of a user the config does not list, with
 * auth.from_backend on, on its way round the threads:
 *   worker       the session waits (SS_LOOKUP); MSG_USER_LOOKUP to the maintenance thread
 *   maintenance  reads the account's stored hash from the server, checks the client's answer
 *                with it, logs in to a backend as the user (core/maintenance/server_users.c);
 *                MSG_USER_FOUND to the main thread
 *   main         adds the user to the config and reloads (core/server_users.c), gives the
 *                worker the backend connection that login opened, then MSG_USER_READY
 *   worker       the login goes on as a listed user's would, or ends with the verdict's ERR.
 * One heap object, owned by whoever holds the message. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"

struct msg;

struct user_lookup {
    uint32_t worker;  /* the session's */
    uint64_t session; /* its id */
    char user[128];
    uint8_t scramble[20];
    uint8_t answer[20]; /* the client's mysql_native_password answer to scramble */
    uint8_t answer_len; /* 0 or 20 */
    /* The verdict: code 0, the account (found, its password matched, the server let ringsql
     * in as it); else the ERR the client gets (message "": ringsql's own 1045). */
    uint16_t code;
    char state[6];
    char message[400];
    struct cfg_server_user account;
    /* The backend connection the check logged in (a MSG_BACKEND_NEW without its shard yet),
     * of backend `backend` in config generation `gen`; NULL when none. */
    struct msg *conn;
    uint32_t backend;
    uint32_t gen;
};
