package dev.strata.pageserver.layer;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.pageserver.key.Key;
import dev.strata.pageserver.key.KeyRange;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LayerMapTest {

    private static final TimelineId TL = TimelineId.parse("0102030405060708090a0b0c0d0e0f10");
    private static final Key K = Key.relationBlock(1663, 5, 16384, 0, 1);
    private static final Key OTHER = Key.relationBlock(1663, 5, 16385, 0, 0);

    @TempDir
    Path dir;

    private static Value.WalRecord rec(String s) {
        return new Value.WalRecord(s.getBytes(StandardCharsets.US_ASCII), false);
    }

    private static String get(LayerMap map, Key key, long lsn) {
        ReconstructState s = new ReconstructState();
        map.search(key, lsn, s);
        if (s.isEmpty()) {
            return null;
        }
        byte[] v = s.hasRecords() ? AppendingRedoForTests.INSTANCE.apply(key, s.base(), s.recordsOldestFirst()) : s.base();
        return new String(v, StandardCharsets.US_ASCII);
    }

    @Test
    void imageInsideADeltaRangeCutsTheDeltaReadAndNewerRecordsStillApply() {
        DeltaLayer delta;
        try (DeltaLayerWriter w = new DeltaLayerWriter(dir, TL, KeyRange.ALL, new LsnRange(Lsn.of(10), Lsn.of(100)))) {
            w.add(K, Lsn.of(10), new Value.Image("A".getBytes(StandardCharsets.US_ASCII)));
            w.add(K, Lsn.of(20), rec("b"));
            w.add(K, Lsn.of(60), rec("c"));
            w.add(K, Lsn.of(80), rec("d"));
            w.add(OTHER, Lsn.of(30), new Value.Image("O".getBytes(StandardCharsets.US_ASCII)));
            delta = w.finish();
        }
        ImageLayer image;
        try (ImageLayerWriter w = new ImageLayerWriter(dir, TL, KeyRange.relationBlocks(1663, 5, 16384, 0), Lsn.of(50))) {
            // Deliberately different from what the delta would give, to prove which one is read.
            w.add(K, "IMG".getBytes(StandardCharsets.US_ASCII));
            image = w.finish();
        }
        InMemoryLayer open = new InMemoryLayer(Lsn.of(100));
        open.put(K, Lsn.of(120), rec("e"));
        LayerMap map = new LayerMap(open, List.of(), List.of(delta), List.of(image));

        assertThat(get(map, K, 9)).isNull();
        assertThat(get(map, K, 10)).isEqualTo("A");
        assertThat(get(map, K, 49)).isEqualTo("Ab");
        assertThat(get(map, K, 50)).isEqualTo("IMG");
        assertThat(get(map, K, 70)).isEqualTo("IMGc");
        assertThat(get(map, K, 99)).isEqualTo("IMGcd");
        assertThat(get(map, K, 200)).isEqualTo("IMGcde");
        // OTHER is outside the image's key range, so the delta below it still answers.
        assertThat(get(map, OTHER, 70)).isEqualTo("O");
        delta.close();
        image.close();
    }

    @Test
    void willInitRecordStopsTheWalkAcrossLayers() {
        InMemoryLayer frozen = new InMemoryLayer(Lsn.of(1));
        frozen.put(K, Lsn.of(5), new Value.Image("old".getBytes(StandardCharsets.US_ASCII)));
        frozen.freeze(Lsn.of(10));
        InMemoryLayer open = new InMemoryLayer(Lsn.of(10));
        open.put(K, Lsn.of(12), new Value.WalRecord("new".getBytes(StandardCharsets.US_ASCII), true));
        open.put(K, Lsn.of(14), rec("+"));
        LayerMap map = new LayerMap(open, List.of(frozen), List.of(), List.of());
        assertThat(get(map, K, 11)).isEqualTo("old");
        assertThat(get(map, K, 14)).isEqualTo("new+");
        ReconstructState s = new ReconstructState();
        map.search(K, 14, s);
        assertThat(s.base()).isNull();
        assertThat(s.recordsOldestFirst()).hasSize(2);
    }

    @Test
    void searchSkipsNewerLayersThatDoNotCoverTheKey() {
        Key k2 = Key.relationBlock(1663, 5, 16386, 0, 0);
        DeltaLayer low;
        try (DeltaLayerWriter w = new DeltaLayerWriter(dir, TL, KeyRange.ALL, new LsnRange(Lsn.of(10), Lsn.of(40)))) {
            w.add(K, Lsn.of(10), new Value.Image("k".getBytes(StandardCharsets.US_ASCII)));
            w.add(k2, Lsn.of(20), new Value.Image("two".getBytes(StandardCharsets.US_ASCII)));
            low = w.finish();
        }
        // A newer delta that covers only OTHER's relation: K's search must pass over it.
        DeltaLayer otherOnly;
        try (DeltaLayerWriter w = new DeltaLayerWriter(dir, TL, KeyRange.relationBlocks(1663, 5, 16385, 0),
                new LsnRange(Lsn.of(40), Lsn.of(60)))) {
            w.add(OTHER, Lsn.of(45), new Value.Image("o".getBytes(StandardCharsets.US_ASCII)));
            otherOnly = w.finish();
        }
        ImageLayer imageK;
        try (ImageLayerWriter w = new ImageLayerWriter(dir, TL, KeyRange.relationBlocks(1663, 5, 16384, 0), Lsn.of(30))) {
            w.add(K, "K@30".getBytes(StandardCharsets.US_ASCII));
            imageK = w.finish();
        }
        ImageLayer imageOther;
        try (ImageLayerWriter w = new ImageLayerWriter(dir, TL, KeyRange.relationBlocks(1663, 5, 16385, 0), Lsn.of(50))) {
            w.add(OTHER, "O@50".getBytes(StandardCharsets.US_ASCII));
            imageOther = w.finish();
        }
        InMemoryLayer open = new InMemoryLayer(Lsn.of(60));
        open.put(k2, Lsn.of(65), rec("+"));
        // Lists deliberately not in LSN order: the index sorts them.
        LayerMap map = new LayerMap(open, List.of(), List.of(otherOnly, low), List.of(imageOther, imageK));
        assertThat(get(map, K, 29)).isEqualTo("k");
        assertThat(get(map, K, 30)).isEqualTo("K@30");
        assertThat(get(map, K, 100)).isEqualTo("K@30");
        assertThat(get(map, OTHER, 46)).isEqualTo("o");
        assertThat(get(map, OTHER, 55)).isEqualTo("O@50");
        assertThat(get(map, OTHER, 39)).isNull();
        assertThat(get(map, k2, 64)).isEqualTo("two");
        assertThat(get(map, k2, 65)).isEqualTo("two+");
        low.close();
        otherOnly.close();
        imageK.close();
        imageOther.close();
    }
}
