package dev.strata.pgcore.control;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.pgcore.lsn.Lsn;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

class CheckPointTest {

    private static final CheckPoint SAMPLE = new CheckPoint(Lsn.parse("0/1A2B3C40"), 1, 1, true, 1,
            (3L << 32) | 0xFFFF_FFF0L, 24576, 7, 13, 731, 1, 1, 5, 1_764_000_000L, 0, 0, 745);

    @Test
    void encodesPostgresLayoutLittleEndian() {
        ByteBuffer b = ByteBuffer.wrap(SAMPLE.encode()).order(ByteOrder.LITTLE_ENDIAN);
        assertThat(b.capacity()).isEqualTo(88);
        assertThat(b.getLong(0)).isEqualTo(0x1A2B3C40L);
        assertThat(b.get(16)).isEqualTo((byte) 1);
        assertThat(b.getLong(24)).isEqualTo((3L << 32) | 0xFFFF_FFF0L);
        assertThat(b.getInt(32)).isEqualTo(24576);
        assertThat(b.getInt(56)).isEqualTo(5);
        assertThat(b.getInt(60)).isZero();
        assertThat(b.getLong(64)).isEqualTo(1_764_000_000L);
        assertThat(b.getInt(80)).isEqualTo(745);
    }

    @Test
    void roundTrips() {
        CheckPoint back = CheckPoint.decode(SAMPLE.encode());
        assertThat(back).isEqualTo(SAMPLE);
        assertThat(back.nextXid()).isEqualTo(0xFFFF_FFF0);
        assertThat(back.nextXidEpoch()).isEqualTo(3);
        assertThat(back.withNextOid(99).nextOid()).isEqualTo(99);
    }

    @Test
    void refusesShortInput() {
        assertThatThrownBy(() -> CheckPoint.decode(new byte[87])).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("88");
    }
}
