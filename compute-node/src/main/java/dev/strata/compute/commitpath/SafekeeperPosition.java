package dev.strata.compute.commitpath;

import dev.strata.pgcore.id.NodeId;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.replication.ReplicationSlotName;

/**
 * One safekeeper as the compute sees it: its slot ({@code pg_replication_slots}) and, when it is
 * connected, its walsender ({@code pg_stat_replication}).
 *
 * @param restartLsn the slot's restart LSN (the last flush position it reported), or null when the
 *                   slot is missing or invalidated
 * @param walStatus  the slot's {@code wal_status}: reserved, extended, unreserved, lost; "missing"
 *                   if there is no slot
 * @param state      the walsender's state (streaming, catchup, ...) or "disconnected"
 * @param writeLsn   reported write position, or null when disconnected
 * @param flushLsn   reported flush position, or null when disconnected
 */
public record SafekeeperPosition(NodeId id, ReplicationSlotName slot, Lsn restartLsn, String walStatus, String state,
                                 Lsn writeLsn, Lsn flushLsn) {

    /** The furthest position this safekeeper is known to have flushed (walsender or slot), or 0/0. */
    public Lsn flushed() {
        Lsn best = Lsn.INVALID;
        if (restartLsn != null && restartLsn.isAfter(best)) {
            best = restartLsn;
        }
        if (flushLsn != null && flushLsn.isAfter(best)) {
            best = flushLsn;
        }
        return best;
    }

    /** Same as {@link #flushed()} for the write position. */
    public Lsn written() {
        Lsn w = flushed();
        return writeLsn != null && writeLsn.isAfter(w) ? writeLsn : w;
    }

    /** The slot can no longer give this safekeeper the WAL it lacks. */
    public boolean slotLost() {
        return "lost".equals(walStatus);
    }

    @Override
    public String toString() {
        return id + " " + state + " flush " + (flushLsn == null ? "-" : flushLsn) + " slot " + slot + " " + walStatus
                + (restartLsn == null ? "" : " from " + restartLsn);
    }
}
