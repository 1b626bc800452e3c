package graph

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// CredentialOptions configure NewCredential.
type CredentialOptions struct {
	// DisableInstanceDiscovery skips Microsoft Entra instance discovery; needed for
	// authority hosts that are not Microsoft's (private clouds, tests). It is
	// LCW_AZURE_DISABLE_INSTANCE_DISCOVERY.
	DisableInstanceDiscovery bool
	// Transport replaces azcore's HTTP transport (tests trust a local authority with it).
	Transport policy.Transporter
}

// NewCredential returns azidentity's DefaultAzureCredential, configured from the
// environment as azidentity documents (AZURE_TENANT_ID, AZURE_CLIENT_ID,
// AZURE_CLIENT_SECRET, AZURE_CLIENT_CERTIFICATE_PATH, AZURE_FEDERATED_TOKEN_FILE,
// AZURE_AUTHORITY_HOST, AZURE_TOKEN_CREDENTIALS, managed identity). It caches tokens:
// create one per process and share it.
func NewCredential(o CredentialOptions) (azcore.TokenCredential, error) {
	opts := &azidentity.DefaultAzureCredentialOptions{DisableInstanceDiscovery: o.DisableInstanceDiscovery}
	if o.Transport != nil {
		opts.ClientOptions.Transport = o.Transport
	}
	cred, err := azidentity.NewDefaultAzureCredential(opts)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCredential, err)
	}
	return cred, nil
}

// NewStaticCredential returns a credential that always returns token, valid for an hour
// from each call. It is for the Graph simulator, which needs no Azure.
func NewStaticCredential(token string) azcore.TokenCredential {
	return staticCredential(token)
}

type staticCredential string

func (s staticCredential) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	if s == "" {
		return azcore.AccessToken{}, errors.New("static credential: empty token")
	}
	return azcore.AccessToken{Token: string(s), ExpiresOn: time.Now().Add(time.Hour)}, nil
}
