/* stmt_packet: the parts of a client's prepared-statement commands (COM_STMT_EXECUTE,
 * COM_STMT_BULK_EXECUTE, COM_STMT_SEND_LONG_DATA, COM_STMT_CLOSE, COM_STMT_RESET,
 * COM_STMT_FETCH) that transaction pooling reads or rewrites: the statement id, and the
 * parameter types an execute carries or leaves out ("as last time"). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Whether the command's payload starts with a statement id after its command byte. */
bool proto_stmt_command_has_id(uint8_t command);

/* The statement id of such a command (payload: its first 5 bytes at least). */
uint32_t proto_stmt_id(const uint8_t *payload);
void proto_stmt_set_id(uint8_t *payload, uint32_t id);

/* Where an execute's parameter types are. */
struct proto_exec_types {
    bool sent;           /* the packet carries types (new_params_bound_flag 1, or bulk's 128) */
    size_t flag_off;     /* COM_STMT_EXECUTE: offset of new_params_bound_flag in the payload */
    size_t types_off;    /* offset of the types (when sent) */
    size_t types_len;    /* 2 bytes per parameter */
};

/* Reads where the types of a COM_STMT_EXECUTE or COM_STMT_BULK_EXECUTE payload (its first
 * avail bytes) lie, for a statement of n_params parameters. Returns 0; 1 when the statement
 * has no parameters (nothing to read); -EAGAIN when avail ends before the types do; -EPROTO
 * when the payload cannot be such a command. */
int proto_exec_types(const uint8_t *payload, size_t avail, uint16_t n_params,
                     struct proto_exec_types *out);

/* Turns the COM_STMT_EXECUTE packet at pkt (header included, whole: its payload's length is
 * in the header), which sent no types (new_params_bound_flag 0), into one that sends types
 * (2 * n_params bytes), in place: the packet and the used - its length bytes after it move
 * right. cap is the room from pkt on. Returns the new used, or -ENOSPC / -EPROTO. */
ssize_t proto_exec_add_types(uint8_t *pkt, size_t used, size_t cap, uint16_t n_params,
                             const uint8_t *types);
