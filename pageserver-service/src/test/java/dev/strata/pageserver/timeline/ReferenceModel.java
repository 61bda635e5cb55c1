package dev.strata.pageserver.timeline;

import dev.strata.pageserver.key.Key;
import dev.strata.pageserver.layer.Value;
import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The obvious implementation the layer store must agree with: every put in a map of sorted
 * maps, reconstruction by scanning back to the newest image or will-init record and appending
 * (the same rule as AppendingRedoForTests). Also the "WAL" replayed after a restart.
 */
final class ReferenceModel {

    record Put(Key key, long lsn, Value value) {
    }

    private final Map<Key, TreeMap<Long, Value>> versions = new HashMap<>();
    private final List<Put> log = new ArrayList<>();

    void put(Key key, long lsn, Value value) {
        versions.computeIfAbsent(key, k -> new TreeMap<>()).put(lsn, value);
        log.add(new Put(key, lsn, value));
    }

    boolean hasKey(Key key) {
        return versions.containsKey(key);
    }

    /** Puts above {@code lsn}, in ingest order: what WAL ingest replays after a restart. */
    List<Put> putsAfter(long lsn) {
        return log.stream().filter(p -> p.lsn() > lsn).toList();
    }

    byte[] get(Key key, long lsn) {
        TreeMap<Long, Value> v = versions.get(key);
        if (v == null || v.floorKey(lsn) == null) {
            return null;
        }
        List<Value> stack = new ArrayList<>();
        for (Value value : v.headMap(lsn, true).descendingMap().values()) {
            stack.add(value);
            if (value.willInit()) {
                break;
            }
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int i = stack.size() - 1; i >= 0; i--) {
            switch (stack.get(i)) {
                case Value.Image img -> out.writeBytes(img.bytes());
                case Value.WalRecord r -> out.writeBytes(r.payload());
            }
        }
        return out.toByteArray();
    }
}
