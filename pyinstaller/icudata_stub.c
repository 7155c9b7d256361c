/*
 * An empty ICU data package, built to replace PySide6's 31 MB libicudata.so.NN in a trimmed Linux bundle.
 *
 * libQt6Core links ICU, and ICU links its data library, so the file must exist; but an app that uses none of
 * Qt's ICU-backed features (QCollator, legacy text codecs, locale-specific case mapping) never reads the data.
 * This library exports the same symbol, icudtNN_dat, holding a valid "CmnD" package with no items: every ICU
 * look-up then fails cleanly and Qt falls back to its own tables. Build (trim.py does it):
 *
 *   cc -shared -fPIC -O2 -DICU_VERSION=73 -Wl,-soname,libicudata.so.73 -o libicudata.so.73 icudata_stub.c
 */
#include <stdint.h>

#ifndef ICU_VERSION
#error "define ICU_VERSION, the NN of libicudata.so.NN"
#endif
#define ICU_SYMBOL_(version) icudt##version##_dat
#define ICU_SYMBOL(version) ICU_SYMBOL_(version)

struct empty_common_data {
    /* MappedData */
    uint16_t header_size;
    uint8_t magic1, magic2;
    /* UDataInfo */
    uint16_t info_size, reserved_word;
    uint8_t is_big_endian, charset_family, sizeof_uchar, reserved_byte;
    uint8_t data_format[4], format_version[4], data_version[4];
    uint8_t padding[8]; /* the header is 32 bytes */
    /* table of contents */
    uint32_t item_count;
};

__attribute__((visibility("default"), aligned(16))) const struct empty_common_data ICU_SYMBOL(ICU_VERSION) = {
    32, 0xda, 0x27,
    20, 0,
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    1,
#else
    0,
#endif
    0, 2, 0,
    {'C', 'm', 'n', 'D'}, {1, 0, 0, 0}, {ICU_VERSION, 0, 0, 0},
    {0},
    0,
};
