package dev.strata.compute.commitpath;

import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.replication.ReplicationSlotName;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The compute's physical replication slots, one per safekeeper (decision 0007), over a superuser
 * connection. Created right after PostgreSQL starts and before the compute takes client work,
 * with {@code immediately_reserve}: the restart LSN is the redo pointer, i.e. the basebackup's
 * checkpoint at the epoch start, so no WAL of this term is removed before every safekeeper has
 * it (or {@code max_slot_wal_keep_size} gives up on one).
 */
public final class ReplicationSlots {

    private static final Logger log = LoggerFactory.getLogger(ReplicationSlots.class);

    private ReplicationSlots() {
    }

    /** A slot as {@code pg_replication_slots} shows it. */
    public record Slot(ReplicationSlotName name, Lsn restartLsn, String walStatus, Long activePid) {
    }

    /**
     * Creates each missing slot; a slot PostgreSQL invalidated ({@code wal_status = 'lost'}) and
     * no walsender uses is dropped and created again at the current redo pointer. Idempotent: a
     * reused data directory keeps its slots.
     *
     * @return the slots re-created because they were lost
     */
    public static int ensure(Connection c, Collection<ReplicationSlotName> names) throws SQLException {
        Map<ReplicationSlotName, Slot> existing = read(c);
        int recreated = 0;
        for (ReplicationSlotName name : names) {
            Slot s = existing.get(name);
            if (s != null && "lost".equals(s.walStatus()) && s.activePid() == null) {
                try (PreparedStatement drop = c.prepareStatement("SELECT pg_drop_replication_slot(?)")) {
                    drop.setString(1, name.value());
                    drop.execute();
                }
                log.warn("slot={} restartLsn={} walStatus={} was invalidated (max_slot_wal_keep_size exceeded); "
                        + "re-created at the redo pointer", name, s.restartLsn(), s.walStatus());
                recreated++;
                s = null;
            }
            if (s == null) {
                try (PreparedStatement create = c.prepareStatement(
                        "SELECT pg_create_physical_replication_slot(?, true, false)")) {
                    create.setString(1, name.value());
                    create.execute();
                }
            }
        }
        return recreated;
    }

    /** The Strata slots ({@code strata_*}, physical) by name. */
    public static Map<ReplicationSlotName, Slot> read(Connection c) throws SQLException {
        Map<ReplicationSlotName, Slot> out = new LinkedHashMap<>();
        try (PreparedStatement q = c.prepareStatement("SELECT slot_name, restart_lsn, wal_status, active_pid "
                + "FROM pg_replication_slots WHERE slot_type = 'physical' AND slot_name LIKE 'strata\\_%'");
             ResultSet rs = q.executeQuery()) {
            while (rs.next()) {
                ReplicationSlotName name = new ReplicationSlotName(rs.getString(1));
                String restart = rs.getString(2);
                String walStatus = rs.getString(3);
                long pid = rs.getLong(4);
                Long activePid = rs.wasNull() ? null : pid; // wasNull: of the column read last
                out.put(name, new Slot(name, restart == null ? null : Lsn.parse(restart), walStatus, activePid));
            }
        }
        return out;
    }
}
