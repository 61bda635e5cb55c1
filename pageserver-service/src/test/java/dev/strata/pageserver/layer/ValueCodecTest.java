package dev.strata.pageserver.layer;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Images stored without their longest zero run (layer format version 2) come back byte for byte. */
class ValueCodecTest {

    @Test
    void aPageWithAHoleIsStoredWithoutItAndReadBackWhole() {
        byte[] page = new byte[8192];
        new Random(1).nextBytes(page);
        Arrays.fill(page, 212, 6000, (byte) 0); // pd_lower 212, pd_upper 6000
        ValueCodec.Encoded e = ValueCodec.encode(new Value.Image(page));
        assertThat(e.tag()).isEqualTo(ValueCodec.TAG_IMAGE_WITHOUT_ZEROS);
        // The run is taken in whole aligned words: [216, 6000) of the zeros [212, 6000).
        assertThat(e.payload()).hasSize(8 + 8192 - (6000 - 216));
        assertThat(decode(e)).isEqualTo(new Value.Image(page));
    }

    @Test
    void everyShapeRoundTrips() {
        Random r = new Random(7);
        for (int i = 0; i < 2000; i++) {
            int size = r.nextInt(5) == 0 ? r.nextInt(300) : 8192;
            byte[] page = new byte[size];
            r.nextBytes(page);
            int runs = r.nextInt(4);
            for (int k = 0; k < runs && size > 0; k++) {
                int from = r.nextInt(size);
                int to = Math.min(size, from + r.nextInt(size - from + 1));
                Arrays.fill(page, from, to, (byte) 0);
            }
            if (r.nextInt(20) == 0) {
                Arrays.fill(page, (byte) 0); // an all-zero page: an empty FSM or new page
            }
            Value.Image image = new Value.Image(page.clone());
            ValueCodec.Encoded e = ValueCodec.encode(image);
            assertThat(e.payload().length).isLessThanOrEqualTo(Math.max(size, 8 + size - ValueCodec.MIN_ZEROS));
            assertThat(decode(e)).as("round %d, %d bytes", i, size).isEqualTo(image);
        }
    }

    @Test
    void aShortRunAndRecordsAreStoredAsTheyAre() {
        byte[] page = new byte[8192];
        Arrays.fill(page, (byte) 1);
        Arrays.fill(page, 800, 800 + ValueCodec.MIN_ZEROS - 1, (byte) 0);
        ValueCodec.Encoded e = ValueCodec.encode(new Value.Image(page));
        assertThat(e.tag()).isEqualTo(ValueCodec.TAG_IMAGE);
        assertThat(e.payload()).isSameAs(page);
        byte[] zeros = new byte[4096];
        ValueCodec.Encoded record = ValueCodec.encode(new Value.WalRecord(zeros, true));
        assertThat(record.tag()).isEqualTo(ValueCodec.TAG_WAL_RECORD_WILL_INIT);
        assertThat(record.payload()).isSameAs(zeros);
    }

    @Test
    void aPayloadThatDoesNotFitItsTagIsRefused() {
        ByteBuffer tooShort = ByteBuffer.allocate(4);
        assertThat(ValueCodec.decode(ValueCodec.TAG_IMAGE_WITHOUT_ZEROS, tooShort, 0, 4)).isNull();
        ByteBuffer offsetPastEnd = ByteBuffer.allocate(16).putInt(0, 9).putInt(4, 100);
        assertThat(ValueCodec.decode(ValueCodec.TAG_IMAGE_WITHOUT_ZEROS, offsetPastEnd, 0, 16)).isNull();
        ByteBuffer negative = ByteBuffer.allocate(16).putInt(0, 0).putInt(4, -5);
        assertThat(ValueCodec.decode(ValueCodec.TAG_IMAGE_WITHOUT_ZEROS, negative, 0, 16)).isNull();
        ByteBuffer huge = ByteBuffer.allocate(16).putInt(0, 0).putInt(4, Integer.MAX_VALUE);
        assertThat(ValueCodec.decode(ValueCodec.TAG_IMAGE_WITHOUT_ZEROS, huge, 0, 16)).isNull();
        assertThat(ValueCodec.decode((byte) 9, ByteBuffer.allocate(4), 0, 4)).isNull();
    }

    private static Value decode(ValueCodec.Encoded e) {
        ByteBuffer stored = ByteBuffer.allocate(e.payload().length + 3);
        stored.position(3);
        stored.put(e.payload());
        return ValueCodec.decode(e.tag(), stored, 3, e.payload().length);
    }
}
