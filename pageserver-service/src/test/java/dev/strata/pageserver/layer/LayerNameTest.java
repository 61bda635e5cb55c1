package dev.strata.pageserver.layer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.pageserver.key.Key;
import dev.strata.pageserver.key.KeyRange;
import dev.strata.pgcore.lsn.Lsn;
import org.junit.jupiter.api.Test;

class LayerNameTest {

    @Test
    void deltaNameRoundTrips() {
        LayerName n = LayerName.delta(KeyRange.ALL, new LsnRange(Lsn.parse("0/16B5A50"), Lsn.parse("1/0")));
        assertThat(n.toString()).isEqualTo("000000000000000000000000000000000000-ffffffffffffffffffffffffffffffffffff"
                + "__00000000016B5A50-0000000100000000");
        assertThat(LayerName.parse(n.toString())).isEqualTo(n);
    }

    @Test
    void imageNameRoundTrips() {
        LayerName n = LayerName.image(KeyRange.relationBlocks(1663, 5, 16384, 0), Lsn.parse("0/3000028"));
        assertThat(n.toString()).endsWith("__0000000003000028");
        assertThat(LayerName.parse(n.toString())).isEqualTo(n);
        assertThat(n.lsnRange()).isEqualTo(LsnRange.single(Lsn.parse("0/3000028")));
    }

    @Test
    void otherFileNamesAreNotLayers() {
        String good = LayerName.image(KeyRange.ALL, Lsn.parse("0/10")).toString();
        assertThat(LayerName.tryParse("metadata")).isNull();
        assertThat(LayerName.tryParse(good + ".strata-tmp")).isNull();
        assertThat(LayerName.tryParse(good.toUpperCase())).isNull();
        assertThat(LayerName.tryParse(good.replace("__", "--"))).isNull();
        String reversed = Key.MAX + "-" + Key.MIN + "__0000000000000010";
        assertThat(LayerName.tryParse(reversed)).isNull();
        assertThatThrownBy(() -> LayerName.parse("metadata")).hasMessageContaining("'metadata'");
    }
}
