package dev.strata.pageserver.remote;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.pageserver.ingest.TimelineBase;
import dev.strata.pageserver.key.KeyRange;
import dev.strata.pageserver.layer.LayerName;
import dev.strata.pageserver.layer.LsnRange;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.remote.Generation;
import java.nio.charset.StandardCharsets;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

class IndexPartCodecTest {

    private final TimelineId id = TimelineId.random();

    private IndexPart sample() {
        TreeMap<LayerName, IndexPart.LayerMeta> layers = new TreeMap<>();
        layers.put(LayerName.delta(KeyRange.ALL, new LsnRange(Lsn.parse("0/1000000"), Lsn.parse("0/1000101"))),
                new IndexPart.LayerMeta(414_108, 0xCAFEBABE, Generation.of(1)));
        layers.put(LayerName.image(KeyRange.ALL, Lsn.parse("0/1000100")),
                new IndexPart.LayerMeta(8192, 7, Generation.of(2)));
        return new IndexPart(id, Generation.of(2), Lsn.parse("0/1000100"), Lsn.parse("0/10000C8"), Lsn.parse("0/1000000"),
                TimelineBase.IMPORTED, true, null, Lsn.INVALID, Lsn.INVALID, layers);
    }

    @Test
    void roundTripsEveryField() {
        IndexPart p = sample();
        byte[] json = IndexPartCodec.encode(p);
        String text = new String(json, StandardCharsets.UTF_8);
        assertThat(text).contains("\"format_version\":1", "\"disk_consistent_lsn\":\"0/1000100\"", "\"crc32c\":\"cafebabe\"",
                "\"ancestor_timeline_id\":null", "\"base\":\"imported\"");
        assertThat(IndexPartCodec.decode(json, id, "k")).isEqualTo(p);

        TimelineId parent = TimelineId.random();
        IndexPart branch = new IndexPart(id, p.generation(), p.diskConsistentLsn(), p.prevRecordLsn(), p.startLsn(), p.base(),
                false, parent, Lsn.parse("0/1000000"), Lsn.parse("0/1000000"), p.layers());
        assertThat(IndexPartCodec.decode(IndexPartCodec.encode(branch), id, "k")).isEqualTo(branch);
        assertThat(new String(IndexPartCodec.encode(branch), StandardCharsets.UTF_8)).doesNotContain("start_prev_record_lsn");

        // A branch's first xl_prev travels with it (optional: older indexes lack it).
        IndexPart withPrev = new IndexPart(id, p.generation(), p.diskConsistentLsn(), p.prevRecordLsn(), p.startLsn(),
                p.base(), false, parent, Lsn.parse("0/1000000"), Lsn.INVALID, Lsn.parse("0/FFFFD8"), p.layers());
        String text2 = new String(IndexPartCodec.encode(withPrev), StandardCharsets.UTF_8);
        assertThat(text2).contains("\"start_prev_record_lsn\":\"0/FFFFD8\"");
        assertThat(IndexPartCodec.decode(text2.getBytes(StandardCharsets.UTF_8), id, "k")).isEqualTo(withPrev);
    }

    @Test
    void refusesWhatItCannotTrust() {
        String good = new String(IndexPartCodec.encode(sample()), StandardCharsets.UTF_8);
        assertRefused(good.replace("\"format_version\":1", "\"format_version\":2"), "format version 2");
        assertRefused(good.replace("\"gc_cutoff_lsn\"", "\"gc_cutoff\""), "unknown field 'gc_cutoff'");
        assertRefused(good.replace(",\"data_checksums\":true", ""), "missing");
        assertRefused(good.replace("\"crc32c\":\"cafebabe\"", "\"crc32c\":\"cafe\""), "8 hex digits");
        assertRefused(good.substring(0, good.length() - 5), "");
        assertRefused(good + "{}", "trailing");
        assertThatThrownBy(() -> IndexPartCodec.decode(good.getBytes(StandardCharsets.UTF_8), TimelineId.random(), "k"))
                .isInstanceOf(IndexPartCodec.IndexFormatException.class).hasMessageContaining("belongs to timeline " + id);
        // A layer above the disk-consistent LSN, or of a newer generation than the index, is impossible.
        assertRefused(good.replace("\"disk_consistent_lsn\":\"0/1000100\"", "\"disk_consistent_lsn\":\"0/1000050\""),
                "reaches beyond");
        assertRefused(good.replace("\"generation\":2,\"disk", "\"generation\":1,\"disk"), "newer than the index");
    }

    private void assertRefused(String json, String why) {
        assertThatThrownBy(() -> IndexPartCodec.decode(json.getBytes(StandardCharsets.UTF_8), id, "idx-key"))
                .isInstanceOf(IndexPartCodec.IndexFormatException.class).hasMessageContaining("idx-key")
                .hasMessageContaining(why);
    }
}
