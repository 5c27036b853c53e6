/* sha2_crypt: caching_sha2_password stored hashes. The vectors come from a reference written
 * apart from this code (sha2_crypt_vectors.py, itself checked against glibc and the spec's
 * published vectors), and one from MySQL by way of TiDB's tests. */
#include <errno.h>
#include <string.h>

#include "check.h"
#include "protocol/sha2_crypt.h"

struct vector {
    const char *password;
    size_t len;
    const char *literal; /* 70 bytes, may hold control characters */
    const char *hex;     /* the same as SHOW CREATE USER writes it */
};

/* Printed by sha2_crypt_vectors.py. */
static const struct vector vectors[] = {
    {"password", 8, "$A$005$0123456789abcdefghijHPpoGfvJPOYUfREscQ07tR2FxCt0sR0en4y1yCTFvv0",
     "0x24412430303524303132333435363738396162636465666768696A4850706F4766764A504F5955665245"
     "73635130377452324678437430735230656E34793179435446767630"},
    {"", 0, "$A$005$ABCDEFGHIJKLMNOPQRSTYEjTlrxaJg4aEkaoUGwfK6cbrkTidHz6IC9Cl5DVHrB",
     "0x244124303035244142434445464748494A4B4C4D4E4F505152535459456A546C7278614A673461456B61"
     "6F554777664B366362726B546964487A36494339436C354456487242"},
    {"test_pass", 9,
     "$A$005$\001\177:;<=>\077@[]^_`{|}~ \011vlfM8oVmr4iZo1OW6uhqFv8tcBA8ve6Yo3E3CMJb7pD",
     "0x24412430303524017F3A3B3C3D3E3F405B5D5E5F607B7C7D7E2009766C664D386F566D7234695A6F314F"
     "57367568714676387463424138766536596F334533434D4A62377044"},
    {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 33,
     "$A$001$zyxwvutsrqponmlkjihgKlJURQo2Bp1yUa2vKtZaIbKyW4FFRM7lBAlvpNVrF45",
     "0x244124303031247A797877767574737271706F6E6D6C6B6A6968674B6C4A5552516F3242703179556132"
     "764B745A6149624B7957344646524D376C42416C76704E5672463435"},
    {"\001\002\003\004\005\006\007\010\011\012\013\014\015\016\017\020\021\022\023\024\025\026"
     "\027\030\031\032\033\034\035\036\037 !\042#$%&'()*+,-./0123456789:;<=>\077@",
     64, "$A$007$saltsaltsaltsaltsalte170PxAdTEr1RaDIKXUwWLwzf2QGedL8e2kuzYhSl02",
     "0x2441243030372473616C7473616C7473616C7473616C7473616C74653137305078416454457231526144"
     "494B585577574C777A6632514765644C3865326B757A5968536C3032"},
    /* A MySQL-made hash of "foobar", as TiDB's tests carry it (pingcap/tidb,
     * parser/auth/caching_sha2_test.go); the salt is unprintable, so only hex is shown. */
    {"foobar", 6,
     "$A$005$\003\032i%\0344)\\K5\026|\177\036Z{c\011\023IP9tbM4PKZBFy5HV3hhhoRHZsnJs3hxnBuuQl"
     "sDdiIe7",
     "0x24412430303524031A69251C34295C4B35167C7F1E5A7B63091349503974624D34504B5A424679354856"
     "336868686F52485A736E4A733368786E427575516C73446469496537"},
};

static void test_vectors(void)
{
    for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
        const struct vector *v = &vectors[i];
        struct proto_sha2_crypt lit, hex;
        CHECK_UINT(strlen(v->literal), PROTO_SHA2_CRYPT_TEXT_LEN);
        if (!CHECK_INT(proto_sha2_crypt_parse(v->literal, PROTO_SHA2_CRYPT_TEXT_LEN, &lit), 0) ||
            !CHECK_INT(proto_sha2_crypt_parse(v->hex, strlen(v->hex), &hex), 0))
            continue;
        CHECK_UINT(hex.rounds, lit.rounds);
        CHECK_MEM(hex.salt, sizeof hex.salt, lit.salt, sizeof lit.salt);
        CHECK_MEM(hex.digest, sizeof hex.digest, lit.digest, sizeof lit.digest);
        CHECK_UINT(lit.rounds, (uint32_t)(v->literal[5] - '0') * 1000);
        CHECK(proto_sha2_crypt_verify(&lit, v->password, v->len));
        /* One bit off in the password, one byte more or less: refused. */
        char pw[64] = {0};
        memcpy(pw, v->password, v->len);
        pw[0] ^= 1;
        CHECK(!proto_sha2_crypt_verify(&lit, pw, v->len ? v->len : 1));
        if (v->len)
            CHECK(!proto_sha2_crypt_verify(&lit, v->password, v->len - 1));
        /* Same password, other salt or rounds: another digest. */
        struct proto_sha2_crypt other = lit;
        other.salt[19] ^= 1;
        CHECK(!proto_sha2_crypt_verify(&other, v->password, v->len));
        other = lit;
        other.rounds += 1000;
        CHECK(!proto_sha2_crypt_verify(&other, v->password, v->len));
        char made[PROTO_SHA2_CRYPT_TEXT_LEN + 1];
        CHECK_INT(proto_sha2_crypt_make(v->password, v->len, lit.salt, lit.rounds, made), 0);
        CHECK_STR(made, v->literal);
    }
}

/* MySQL's built-in accounts carry this: well formed, and no password matches it. */
static void test_never_used(void)
{
    static const char text[] =
        "$A$005$THISISACOMBINATIONOFINVALIDSALTANDPASSWORDTHATMUSTNEVERBRBEUSED";
    struct proto_sha2_crypt h;
    CHECK_INT(proto_sha2_crypt_parse(text, sizeof text - 1, &h), 0);
    CHECK_UINT(h.rounds, 5000);
    CHECK_MEM(h.salt, sizeof h.salt, "THISISACOMBINATIONOF", 20);
    CHECK(!proto_sha2_crypt_verify(&h, "", 0));
}

static void test_parse_refused(void)
{
    static const char good[] =
        "$A$005$0123456789abcdefghijHPpoGfvJPOYUfREscQ07tR2FxCt0sR0en4y1yCTFvv0";
    /* Each row is the good text with one byte changed. */
    static const struct {
        size_t at;
        char c;
    } edits[] = {
        {0, '#'},  {1, 'B'},   {2, '5'},   {6, '!'}, /* layout */
        {3, 'G'},  {5, ' '},                         /* not hex */
        {7, '$'},  {26, '\0'},                       /* salt MySQL never writes */
        {27, '+'}, {50, '='},  {69, '\0'},           /* not crypt base64 */
    };
    struct proto_sha2_crypt h;
    CHECK_INT(proto_sha2_crypt_parse(good, 70, &h), 0);
    for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++) {
        char t[70];
        memcpy(t, good, sizeof t);
        t[edits[i].at] = edits[i].c;
        if (!CHECK_INT(proto_sha2_crypt_parse(t, sizeof t, &h), -EINVAL))
            check_failf(__FILE__, __LINE__, "edit at %zu accepted", edits[i].at);
    }
    static const char *const bad[] = {
        "",
        "$A$005$",
        "$A$000$0123456789abcdefghijHPpoGfvJPOYUfREscQ07tR2FxCt0sR0en4y1yCTFvv0", /* 0 rounds */
        "$A$005$0123456789abcdefghijHPpoGfvJPOYUfREscQ07tR2FxCt0sR0en4y1yCTFvv",  /* short */
        "$A$005$0123456789abcdefghijHPpoGfvJPOYUfREscQ07tR2FxCt0sR0en4y1yCTFvv00",
        "$5$005$0123456789abcdefghijHPpoGfvJPOYUfREscQ07tR2FxCt0sR0en4y1yCTFvv0",
        /* hex: wrong prefix, a non-hex digit, one digit too many */
        "0X24412430303524303132333435363738396162636465666768696A4850706F4766764A504F59556652"
        "4573635130377452324678437430735230656E34793179435446767630",
        "0x24412430303524303132333435363738396162636465666768696A4850706F4766764A504F59556652"
        "4573635130377452324678437430735230656E3479317943544676763G",
        "0x24412430303524303132333435363738396162636465666768696A4850706F4766764A504F59556652"
        "4573635130377452324678437430735230656E344793179435446767630",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (!CHECK_INT(proto_sha2_crypt_parse(bad[i], strlen(bad[i]), &h), -EINVAL))
            check_failf(__FILE__, __LINE__, "bad[%zu] accepted", i);
    }
}

static void test_bounds(void)
{
    static const uint8_t salt[20] = "0123456789abcdefghij";
    char out[PROTO_SHA2_CRYPT_TEXT_LEN + 1];
    static const uint32_t bad_rounds[] = {0, 999, 1500, PROTO_SHA2_CRYPT_MAX_ROUNDS + 1000};
    for (size_t i = 0; i < sizeof bad_rounds / sizeof bad_rounds[0]; i++)
        CHECK_INT(proto_sha2_crypt_make("pw", 2, salt, bad_rounds[i], out), -EINVAL);
    uint8_t dollar[20];
    memcpy(dollar, salt, sizeof dollar);
    dollar[4] = '$';
    CHECK_INT(proto_sha2_crypt_make("pw", 2, dollar, 5000, out), -EINVAL);

    /* The longest password MySQL takes is hashed; one more byte is refused. */
    static char pw[PROTO_SHA2_CRYPT_MAX_PASSWORD + 1];
    memset(pw, 'p', sizeof pw);
    struct proto_sha2_crypt h;
    CHECK_INT(proto_sha2_crypt_make(pw, PROTO_SHA2_CRYPT_MAX_PASSWORD, salt, 1000, out), 0);
    CHECK_INT(proto_sha2_crypt_parse(out, PROTO_SHA2_CRYPT_TEXT_LEN, &h), 0);
    CHECK(proto_sha2_crypt_verify(&h, pw, PROTO_SHA2_CRYPT_MAX_PASSWORD));
    CHECK(!proto_sha2_crypt_verify(&h, pw, sizeof pw));
    CHECK_INT(proto_sha2_crypt_make(pw, sizeof pw, salt, 1000, out), -EINVAL);

    /* "FFF" is the largest count the text holds, and parses to it (not hashed here: it takes
     * seconds). */
    char big[] = "$A$FFF$0123456789abcdefghijHPpoGfvJPOYUfREscQ07tR2FxCt0sR0en4y1yCTFvv0";
    CHECK_INT(proto_sha2_crypt_parse(big, 70, &h), 0);
    CHECK_UINT(h.rounds, PROTO_SHA2_CRYPT_MAX_ROUNDS);
    /* A hand-made struct out of bounds is refused rather than hashed for hours. */
    h.rounds = UINT32_MAX;
    CHECK(!proto_sha2_crypt_verify(&h, "pw", 2));
}

int main(int argc, char **argv)
{
    static const struct check_case cases[] = {
        CHECK_CASE(test_vectors),
        CHECK_CASE(test_never_used),
        CHECK_CASE(test_parse_refused),
        CHECK_CASE(test_bounds),
    };
    return check_main(argc, argv, cases, sizeof cases / sizeof cases[0]);
}
