package dev.strata.pageserver.layer;

import java.util.Arrays;

/**
 * What a key holds at one LSN: a full {@link Image} (a page or a small file, needing no older
 * version) or a {@link Record} applied on top of the key's older value by a {@link Redo}.
 * Ingest produces values, layers store them (encoded by {@link ValueCodec}), GetPage consumes them.
 */
public sealed interface Value permits Value.Image, Value.Record {

    /** True if this value does not need any older version of its key. */
    boolean willInit();

    /** A complete value: an 8 KiB page image, a relation size, a relmapper file... */
    record Image(byte[] bytes) implements Value {
        public Image {
            if (bytes == null) {
                throw new IllegalArgumentException("image bytes must not be null");
            }
        }

        @Override
        public boolean willInit() {
            return true;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Image i && Arrays.equals(bytes, i.bytes);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(bytes);
        }

        @Override
        public String toString() {
            return "Image[" + bytes.length + " bytes]";
        }
    }

    /**
     * An operation on an older value. Today only opaque WAL records; the operations the
     * pageserver applies itself (CLOG bits, visibility-map bits, multixacts) join here later.
     */
    sealed interface Record extends Value permits WalRecord {
    }

    /** A WAL record kept opaque for the redo engine; {@code willInit} if it rebuilds the page from nothing. */
    record WalRecord(byte[] payload, boolean willInit) implements Record {
        public WalRecord {
            if (payload == null) {
                throw new IllegalArgumentException("record payload must not be null");
            }
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof WalRecord r && willInit == r.willInit && Arrays.equals(payload, r.payload);
        }

        @Override
        public int hashCode() {
            return 31 * Arrays.hashCode(payload) + Boolean.hashCode(willInit);
        }

        @Override
        public String toString() {
            return "WalRecord[" + payload.length + " bytes" + (willInit ? ", will init" : "") + "]";
        }
    }
}
