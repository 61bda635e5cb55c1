package dev.strata.pgcore.wal;

/** A relation fork ({@code ForkNumber}): the ordinal is the number stored in WAL. */
public enum ForkNumber {
    MAIN("main"),
    FSM("fsm"),
    VISIBILITY_MAP("vm"),
    INIT("init");

    private static final ForkNumber[] BY_NUMBER = values();

    private final String fileSuffix;

    ForkNumber(String fileSuffix) {
        this.fileSuffix = fileSuffix;
    }

    /** The name used in relation file names ({@code _fsm}, {@code _vm}, {@code _init}). */
    public String pgName() {
        return fileSuffix;
    }

    public int number() {
        return ordinal();
    }

    /** The fork with this number; {@code IllegalArgumentException} if there is none. */
    public static ForkNumber ofNumber(int number) {
        if (number < 0 || number >= BY_NUMBER.length) {
            throw new IllegalArgumentException("no fork number " + number);
        }
        return BY_NUMBER[number];
    }
}
