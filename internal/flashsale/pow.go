package flashsale

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"math/bits"
	"strconv"
	"strings"
	"time"

	"github.com/surge-commerce/surge/internal/errcode"
)

// A sale may ask every buyer to show a proof of work before joining its
// waiting room (hashcash): find a nonce such that SHA-256 of
// "challenge:nonce" starts with PowDifficulty zero bits. An honest buyer
// pays it once, in the browser, in well under a second at the default
// difficulties; a bot pays it for every identity it brings. Verifying
// costs one HMAC and one SHA-256.
//
// Challenges are stateless: signed by the server, bound to the shop, the
// SKU, the customer and the sale's epoch, and valid for ChallengeTTL. A
// customer holds one place in a queue, so a challenge used twice gains
// nothing.

// MaxPowDifficulty bounds what a shop may ask: 28 bits is about 2^28
// hashes, tens of seconds of one core.
const MaxPowDifficulty = 28

// ChallengeTTL is how long a challenge may be answered.
const ChallengeTTL = 10 * time.Minute

const challengePrefix = "pw1."

// Challenge is what a buyer must answer to join a sale's waiting room.
type Challenge struct {
	Challenge  string    `json:"challenge"`
	Difficulty int       `json:"difficulty"`
	ExpiresAt  time.Time `json:"expires_at"`
}

// Proof is a buyer's answer: the challenge and the nonce found for it.
type Proof struct {
	Challenge string `json:"challenge"`
	Nonce     string `json:"nonce"`
}

// Challenge issues a challenge for a customer to join a sale's waiting
// room, at the sale's difficulty (0: none asked, the challenge is still
// valid). Errors: not_found (no sale, no waiting room).
func (s *Service) Challenge(ctx context.Context, shopID int64, sku, customerID string) (Challenge, error) {
	sale, err := s.waitingRoom(ctx, shopID, sku)
	if err != nil {
		return Challenge{}, err
	}
	return s.NewChallenge(shopID, sale, customerID), nil
}

// NewChallenge issues a challenge for a customer to join a sale.
func (s *Service) NewChallenge(shopID int64, sale Sale, customerID string) Challenge {
	exp := s.now().Add(ChallengeTTL).UTC().Truncate(time.Second)
	body := challengePrefix + base64.RawURLEncoding.EncodeToString([]byte(strings.Join([]string{
		strconv.FormatInt(shopID, 10), sale.SKU, customerID, strconv.FormatInt(sale.Epoch, 10), strconv.FormatInt(exp.Unix(), 10),
	}, "|")))
	return Challenge{Challenge: body + "." + s.mac("pow", body), Difficulty: sale.PowDifficulty, ExpiresAt: exp}
}

// CheckProof verifies a proof for a customer joining a sale. Errors:
// forbidden (pow_required, pow_invalid).
func (s *Service) CheckProof(p Proof, shopID int64, sale Sale, customerID string) error {
	if p.Challenge == "" || p.Nonce == "" {
		return errcode.Typed(errcode.Forbidden, "pow_required",
			"this sale asks a proof of work to join its waiting room: GET its queue/challenge, then send the challenge and a nonce").
			With("difficulty", sale.PowDifficulty)
	}
	invalid := errcode.Typed(errcode.Forbidden, "pow_invalid", "the proof of work does not answer a challenge of this sale for you")
	i := strings.LastIndexByte(p.Challenge, '.')
	if !strings.HasPrefix(p.Challenge, challengePrefix) || i < 0 || len(p.Challenge) > 512 || len(p.Nonce) > 64 || !tokenChars(p.Challenge) {
		return invalid
	}
	body := p.Challenge[:i]
	if !hmac.Equal([]byte(p.Challenge[i+1:]), []byte(s.mac("pow", body))) {
		return invalid
	}
	raw, err := base64.RawURLEncoding.DecodeString(body[len(challengePrefix):])
	parts := strings.Split(string(raw), "|")
	if err != nil || len(parts) != 5 || parts[0] != strconv.FormatInt(shopID, 10) || parts[1] != sale.SKU ||
		parts[2] != customerID || parts[3] != strconv.FormatInt(sale.Epoch, 10) {
		return invalid
	}
	exp, err := strconv.ParseInt(parts[4], 10, 64)
	if err != nil || !s.now().Before(time.Unix(exp, 0)) {
		return errcode.Typed(errcode.Forbidden, "pow_invalid", "the challenge has expired: ask a new one")
	}
	if LeadingZeroBits(p.Challenge, p.Nonce) < sale.PowDifficulty {
		return errcode.Typed(errcode.Forbidden, "pow_invalid", "the nonce does not reach the sale's difficulty").
			With("difficulty", sale.PowDifficulty)
	}
	return nil
}

// LeadingZeroBits counts the leading zero bits of SHA-256("challenge:nonce").
func LeadingZeroBits(challenge, nonce string) int {
	sum := sha256.Sum256([]byte(challenge + ":" + nonce))
	n := 0
	for i := 0; i < len(sum); i += 8 {
		w := binary.BigEndian.Uint64(sum[i:])
		n += bits.LeadingZeros64(w)
		if w != 0 {
			break
		}
	}
	return n
}

// SolvePoW finds a nonce for a challenge at a difficulty: what a buyer's
// client does (the storefront does the same in the page). Its cost doubles
// with each bit.
func SolvePoW(challenge string, difficulty int) string {
	for n := uint64(0); ; n++ {
		nonce := strconv.FormatUint(n, 36)
		if LeadingZeroBits(challenge, nonce) >= difficulty {
			return nonce
		}
	}
}

func (s *Service) mac(purpose, body string) string {
	m := hmac.New(sha256.New, s.secret)
	m.Write([]byte(purpose + "\x00" + body))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}
