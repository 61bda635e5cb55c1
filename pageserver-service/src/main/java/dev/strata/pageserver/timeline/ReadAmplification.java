package dev.strata.pageserver.timeline;

import java.util.concurrent.atomic.LongAdder;

/**
 * What GetPage costs a timeline in layers (docs/pageserver.md, "Compaction"): for every relation
 * block read through {@link LayerStore#getValue} (not other keys: sizes come from the size cache,
 * and the status's and basebackup's metadata reads would make a status call change the figures), the layers whose versions of the key it looked up (its own and its ancestors') and
 * the WAL records redo replayed on top of the base. Totals since start, for the status, and a
 * window drained by the metrics reporter, for the gauges. Lock-free: readers only add.
 */
public final class ReadAmplification {

    private final LongAdder reads = new LongAdder();
    private final LongAdder layers = new LongAdder();
    private final LongAdder records = new LongAdder();
    private final LongAdder windowReads = new LongAdder();
    private final LongAdder windowLayers = new LongAdder();
    private final LongAdder windowRecords = new LongAdder();

    void record(int layersVisited, int recordsReplayed) {
        reads.increment();
        layers.add(layersVisited);
        records.add(recordsReplayed);
        windowReads.increment();
        windowLayers.add(layersVisited);
        windowRecords.add(recordsReplayed);
    }

    /** Page reads, layers visited and records replayed, summed. */
    public record Totals(long reads, long layersVisited, long recordsReplayed) {

        public double layersPerRead() {
            return reads == 0 ? 0 : (double) layersVisited / reads;
        }

        public double recordsPerRead() {
            return reads == 0 ? 0 : (double) recordsReplayed / reads;
        }
    }

    /** Since the store opened. */
    public Totals totals() {
        return new Totals(reads.sum(), layers.sum(), records.sum());
    }

    /** Since the previous call (one caller: the metrics reporter). */
    public Totals drainWindow() {
        return new Totals(windowReads.sumThenReset(), windowLayers.sumThenReset(), windowRecords.sumThenReset());
    }
}
