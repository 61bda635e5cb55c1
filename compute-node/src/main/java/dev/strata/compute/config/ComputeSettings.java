package dev.strata.compute.config;

import dev.strata.safekeeper.election.Proposer;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The settings that make a stock PostgreSQL 17 a Strata compute (architecture §2). The
 * durable copy of every commit is on the safekeepers, so the compute's own disk is a cache.
 */
public final class ComputeSettings {

    /** Default bound on the WAL the compute keeps for a lagging or dead safekeeper. */
    public static final String DEFAULT_MAX_SLOT_WAL_KEEP_SIZE = "2GB";

    /**
     * Empty (PostgreSQL's default, written {@code ''}): the pageserver replays every PG 17
     * resource manager with an {@code rm_mask} in Java, heap, heap2, btree and sequence
     * (decision 0021), BRIN and generic WAL (decision 0025), hash (decision 0026), GiST
     * (decision 0027), GIN (decision 0028) and SP-GiST (decision 0030), so records carry only
     * PostgreSQL's own full-page writes. An operator setting can put managers back (the oracle
     * then checks their redo against the images).
     */
    public static final String WAL_CONSISTENCY_CHECKING = "";

    private ComputeSettings() {
    }

    /**
     * @param safekeepers the timeline's safekeepers; a majority of them must acknowledge a commit
     * @param extra       operator settings, applied last (they win)
     */
    public static Map<String, String> forCompute(List<Proposer.Member> safekeepers, Map<String, String> extra) {
        Map<String, String> s = new LinkedHashMap<>();
        // A commit returns once a majority of safekeepers has its WAL on disk.
        s.put("synchronous_commit", "on");
        s.put("synchronous_standby_names", synchronousStandbyNames(safekeepers));
        s.put("wal_level", "replica");
        s.put("max_wal_senders", Integer.toString(Math.max(10, safekeepers.size() + 5)));
        // Retention is by the safekeepers' replication slots (decision 0007): the compute keeps
        // every byte a safekeeper has not flushed, up to max_slot_wal_keep_size, beyond which a
        // dead safekeeper's slot is given up (it is filled from a peer at the next term) rather
        // than the compute's disk filling up. wal_keep_size is no longer what protects them.
        s.put("max_slot_wal_keep_size", DEFAULT_MAX_SLOT_WAL_KEEP_SIZE);
        s.put("wal_keep_size", "0");
        // The pageserver replays every manager's records in Java (decisions 0021, 0025 to 0028,
        // 0030): the list is empty, set explicitly so the configuration file says so.
        s.put("wal_consistency_checking", WAL_CONSISTENCY_CHECKING);
        s.put("full_page_writes", "on");
        // The compute's disk is not durable; the safekeepers are.
        s.put("fsync", "off");
        // A crashed backend means a new compute from the pageserver (a new term), not crash
        // recovery from a local disk that is not the source of truth.
        s.put("restart_after_crash", "off");
        s.put("max_prepared_transactions", "10");
        s.put("password_encryption", "scram-sha-256");
        s.put("log_line_prefix", "%m [%p] %q%u@%d ");
        s.putAll(extra);
        return s;
    }

    /** {@code ANY k ("sk-1","sk-2","sk-3")} with k a majority; names with '-' must be quoted. */
    static String synchronousStandbyNames(List<Proposer.Member> safekeepers) {
        int quorum = safekeepers.size() / 2 + 1;
        String names = safekeepers.stream().map(m -> "\"" + m.id().toString().replace("\"", "") + "\"")
                .collect(Collectors.joining(","));
        return "ANY " + quorum + " (" + names + ")";
    }
}
