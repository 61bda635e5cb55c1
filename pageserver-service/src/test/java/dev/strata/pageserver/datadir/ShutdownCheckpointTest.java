package dev.strata.pageserver.datadir;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.pgcore.lsn.Lsn;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/** The shutdown-checkpoint value: its layout on disk and in S3, and refusals of anything else. */
class ShutdownCheckpointTest {

    @Test
    void isTheRecordBeforeAsEightBytesLittleEndian() {
        ShutdownCheckpoint c = new ShutdownCheckpoint(Lsn.parse("1/2345678"));
        assertThat(HexFormat.of().formatHex(c.encode())).isEqualTo("7856340201000000");
        assertThat(ShutdownCheckpoint.decode(c.encode())).isEqualTo(c);
        assertThat(ShutdownCheckpoint.decode(null)).isNull();
    }

    @Test
    void refusesAValueOfAnotherLength() {
        assertThatThrownBy(() -> ShutdownCheckpoint.decode(new byte[7])).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("7 bytes").hasMessageContaining("expected 8");
        assertThatThrownBy(() -> new ShutdownCheckpoint(null)).isInstanceOf(IllegalArgumentException.class);
    }
}
