package dev.strata.pgcore.protocol.replication;

import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.replication.ReplicationSlotName;

/**
 * The text of the replication-protocol commands the client sends (PostgreSQL's
 * "Streaming Replication Protocol"). Text only; when to send them is the client's logic.
 */
public final class ReplicationCommands {

    private ReplicationCommands() {
    }

    public static String identifySystem() {
        return "IDENTIFY_SYSTEM";
    }

    /**
     * {@code START_REPLICATION [SLOT name] PHYSICAL X/Y TIMELINE n}. With a slot, the server keeps
     * the WAL from the slot's restart LSN, which the client's flush feedback advances.
     *
     * @param slot null to stream without a slot
     */
    public static String startPhysical(ReplicationSlotName slot, Lsn start, int timeline) {
        if (timeline < 1) {
            throw new IllegalArgumentException("timeline " + timeline + " is not a PostgreSQL timeline (>= 1)");
        }
        // A slot name is [a-z0-9_] (checked by its type), so it needs no quoting.
        return "START_REPLICATION " + (slot == null ? "" : "SLOT " + slot.value() + " ") + "PHYSICAL " + start
                + " TIMELINE " + timeline;
    }
}
