package activities_test

import (
	"reflect"
	"testing"

	"github.com/paysaga/paysaga/activities"
)

func TestStepNames_AreTheRegisteredMethodNames(t *testing.T) {
	steps := reflect.TypeOf(&activities.Activities{})
	for _, name := range []string{activities.NameReserveStock, activities.NameCompletePayment,
		activities.NameFailPayment, activities.NameMarkNeedsAttention,
		activities.NameTossConfirm, activities.NameTossCancel} {
		if _, ok := steps.MethodByName(name); !ok {
			t.Errorf("%q names no step of activities.Activities: telemetry would never count it", name)
		}
	}
}
