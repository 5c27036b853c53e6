/* Fetching the stored functions' names from a backend (see routines.h). */
#include "core/maintenance/routines.h"

#include <stdio.h>

#include "protocol/name_set.h"

bool routines_fetch(MYSQL *my, struct name_set *into, char *err, size_t errlen)
{
    static const char sql[] = "SELECT DISTINCT ROUTINE_NAME FROM information_schema.ROUTINES "
                              "WHERE ROUTINE_TYPE = 'FUNCTION'";
    MYSQL_RES *res = NULL;
    if (mysql_real_query(my, sql, sizeof sql - 1) != 0 || !(res = mysql_use_result(my))) {
        snprintf(err, errlen, "%u %s", mysql_errno(my), mysql_error(my));
        return false;
    }
    bool ok = true;
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(res))) {
        unsigned long *len = mysql_fetch_lengths(res);
        if (ok && row[0] && !name_set_add(into, (const unsigned char *)row[0], len[0])) {
            snprintf(err, errlen, "out of memory");
            ok = false; /* the rest is still read, for mysql_free_result */
        }
    }
    if (ok && mysql_errno(my)) {
        snprintf(err, errlen, "%u %s", mysql_errno(my), mysql_error(my));
        ok = false;
    }
    mysql_free_result(res);
    return ok;
}
