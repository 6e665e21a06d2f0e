package registry

import (
	"context"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"kplane/internal/storage"
)

// interpretStorageError turns storage sentinels into API errors for the
// resource; it is the only place storage errors get a status code.
func interpretStorageError(err error, gr schema.GroupResource, name string) error {
	if err == nil {
		return nil
	}
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		return err
	}
	var serr *storage.Error
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return apierrors.NewTimeoutError(fmt.Sprintf("request did not complete: %v", err), 0)
	case errors.Is(err, storage.ErrNotFound):
		return apierrors.NewNotFound(gr, name)
	case errors.Is(err, storage.ErrExists):
		return apierrors.NewAlreadyExists(gr, name)
	case errors.Is(err, storage.ErrInvalidContinue):
		return apierrors.NewBadRequest(fmt.Sprintf("continue key is not valid: %v", err))
	case errors.Is(err, storage.ErrExpired):
		msg := "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter."
		if errors.As(err, &serr) && serr.Msg != "" {
			msg = serr.Msg
		}
		return apierrors.NewResourceExpired(msg)
	case errors.Is(err, storage.ErrTooLargeRV):
		e := apierrors.NewTimeoutError("Too large resource version", 1)
		e.ErrStatus.Details.Causes = []metav1.StatusCause{{Type: metav1.CauseTypeResourceVersionTooLarge, Message: "Too large resource version"}}
		return e
	}
	return apierrors.NewInternalError(err)
}

func conflictModified(gr schema.GroupResource, name string) error {
	return apierrors.NewConflict(gr, name, errors.New("the object has been modified; please apply your changes to the latest version and try again"))
}
