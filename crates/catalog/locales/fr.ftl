# Les mots de Rapport pour les clients, en français : les pages d'aide
# (/help), le formulaire web et les messages du système. Mêmes messages et
# mêmes variables que en.ftl ; un test le vérifie.
#
# Textes bruts : les pages les échappent, donc pas de balises ici.

language-name = Français

## Formulaires

errors-heading = Veuillez corriger ce qui suit :
form-expired = Ce formulaire a expiré ou vient d'une autre page. Vérifiez-le et envoyez-le à nouveau.
field-name = Votre nom
field-email = Votre adresse e-mail
field-subject = Objet
field-message = Message
field-reply = Votre message
field-attachments = Pièces jointes (facultatif)
attachments-limit = Jusqu'à { $size } au total.
honeypot-label = Laissez ce champ vide
send = Envoyer
send-reply = Envoyer la réponse
sign-out = Se déconnecter
signed-in-as = Connecté en tant que { $email }
language-choice = Langue

## Erreurs des champs

name-missing = Veuillez indiquer votre nom.
name-too-long = Veuillez raccourcir votre nom à { $max } caractères.
name-control = Veuillez indiquer votre nom sans caractères spéciaux.
email-missing = Veuillez indiquer votre adresse e-mail.
email-invalid = Veuillez indiquer une adresse e-mail complète, comme nom@example.com.
email-not-yours = Veuillez indiquer votre propre adresse e-mail, afin que nous puissions vous répondre.
subject-missing = Veuillez indiquer un objet.
subject-too-long = Veuillez raccourcir l'objet à { $max } caractères.
subject-control = Veuillez écrire l'objet sur une seule ligne.
message-missing = Veuillez écrire votre message.
message-too-long = Veuillez raccourcir votre message ; il est trop long pour être reçu en une fois.
files-too-many = Veuillez joindre au plus { $max } fichiers.
files-too-large = Les fichiers dépassent { $size } au total. Veuillez joindre des fichiers plus petits ou moins nombreux.

## Le formulaire web (/help/new)

new-title = Contacter le support
new-intro = Dites-nous ce dont vous avez besoin. Nous vous enverrons par e-mail le numéro du ticket et un lien pour le suivre.
new-intro-signed-in = Dites-nous ce dont vous avez besoin. Vous retrouverez la nouvelle demande avec les autres.
thanks-title = Merci
received-ticket = Nous avons bien reçu votre message et ouvert le ticket n° { $ticket }.
received-sending = Nous envoyons à { $email } une confirmation avec un lien pour suivre le ticket et répondre en ligne ; elle devrait arriver d'ici quelques minutes. Vous pouvez aussi simplement répondre à cet e-mail.
received-waiting = Veuillez noter ce numéro. Nous ne pouvons pas envoyer d'e-mail pour le moment : la confirmation avec un lien pour suivre le ticket parviendra plus tard à { $email }. Nous vous répondrons à cette adresse.
received-no-ticket = Nous avons bien reçu votre message et vous répondrons par e-mail.
send-another = Envoyer une autre demande
wait-title = Veuillez patienter un peu
wait-text = Nous avons reçu plusieurs demandes de votre part en peu de temps. Pour éviter le spam, veuillez réessayer après { $time } (dans environ { $minutes ->
    [one] une minute
   *[other] { $minutes } minutes
}).
wait-urgent = En cas d'urgence, vous pouvez aussi nous écrire par e-mail.
bad-form-title = Nous n'avons pas pu lire ce formulaire
back-to-form = Retour au formulaire
too-large-title = C'était trop volumineux
too-large-text = Nous acceptons jusqu'à { $size } de pièces jointes par message. Veuillez revenir en arrière et joindre des fichiers plus petits ou moins nombreux, ou partager les gros fichiers par un lien.
failed-title = Un problème est survenu de notre côté
failed-text = Votre demande n'a pas été enregistrée. Veuillez réessayer dans quelques minutes, ou nous écrire par e-mail.

## Liens et sessions

link-dead = Ce lien ne fonctionne plus
need-link = Veuillez ouvrir le lien reçu par e-mail
no-such-file = Nous n'avons pas trouvé ce fichier parmi vos demandes
no-such-ticket = Nous n'avons pas trouvé ce ticket parmi les vôtres
link-explain = Les liens que nous envoyons fonctionnent une fois et pour une durée limitée. Indiquez votre adresse e-mail et nous vous en enverrons un nouveau.
link-button = M'envoyer un nouveau lien
or-new-request = Ou envoyez-nous une nouvelle demande
new-link-title = Obtenir un nouveau lien
check-email-title = Consultez vos e-mails
link-requested-sending = Si { $email } appartient à l'un de nos clients, nous y envoyons un lien ; il devrait arriver d'ici quelques minutes.
link-requested-waiting = Si { $email } appartient à l'un de nos clients, nous y enverrons un lien. Nous ne pouvons pas envoyer d'e-mail pour le moment : il arrivera plus tard.
link-valid-days = Le lien fonctionne une fois, pendant { $days ->
    [one] { $days } jour
   *[other] { $days } jours
}.
signed-out-title = Vous êtes déconnecté
signed-out-text = Pour revoir vos demandes, ouvrez le lien de l'un de nos e-mails.
send-new-request = Envoyez-nous une nouvelle demande

## Vos demandes

list-title = Vos demandes
list-empty = Vous n'avez encore aucune demande chez nous.
new-request = Nouvelle demande
column-ticket = Ticket
column-subject = Objet
column-status = État
column-owner = Pris en charge par
column-updated = Dernière modification
all-requests = Toutes vos demandes
ticket-status = État : { $status }
ticket-owner = Pris en charge par { $name }
ticket-no-owner = Pas encore attribué
owner-none = Pas encore attribué
author-you = Vous
author-participant = Un autre participant
author-agent = { $name } (Support)
author-team = Notre équipe
author-support = Support
attached = Pièces jointes :
closed-hint = Ce ticket est fermé. Écrire ici ouvre un nouveau ticket qui y fait référence.
reply-heading = Répondre
held-title = Message reçu
held-text = Nous avons conservé votre message pour que notre équipe l'examine.
back-to-requests = Retour à vos demandes
status-open = Ouvert
status-pending = En attente de votre réponse
status-in-progress = En cours
status-solved = Résolu
status-closed = Fermé

## Les e-mails du système

email-greeting = Bonjour,
email-greeting-named = Bonjour { $name },
ack-text = Merci de nous avoir écrit. Nous avons bien reçu votre message « { $subject } » et ouvert le ticket n° { $ticket } pour y répondre. Un membre de notre équipe vous répondra bientôt ; pour ajouter quelque chose, répondez simplement à cet e-mail en gardant [#{ $ticket }] dans l'objet.
web-ack-subject = Votre demande [#{ $ticket }]
web-ack-text = Nous avons bien reçu une demande envoyée avec cette adresse depuis notre formulaire web et ouvert le ticket n° { $ticket } pour y répondre. Un membre de notre équipe vous répondra bientôt ; pour ajouter quelque chose, répondez simplement à cet e-mail en gardant [#{ $ticket }] dans l'objet. Si vous ne l'avez pas envoyée, vous pouvez ignorer cet e-mail.
portal-link-intro = Vous pouvez aussi suivre le ticket et répondre en ligne, sans compte, en ouvrant ce lien :
portal-link-note = Ce lien n'est que pour vous : il fonctionne une fois, pendant { $days ->
    [one] { $days } jour
   *[other] { $days } jours
}, et vous connecte sur cet appareil. S'il a expiré, demandez-en un nouveau sur la page qu'il ouvre.
link-email-subject = Votre lien pour suivre vos demandes
link-email-intro = vous avez demandé un lien pour suivre vos demandes chez nous. Ouvrez-le pour voir vos tickets et répondre en ligne :
link-email-note = Ce lien n'est que pour vous : il fonctionne une fois, pendant { $days ->
    [one] { $days } jour
   *[other] { $days } jours
}. Si vous ne l'avez pas demandé, vous pouvez ignorer cet e-mail ; personne ne peut utiliser le lien sans accès à votre boîte mail.

## Le widget de chat (une variable reste telle quelle : le widget la remplit)

widget-open = Discuter avec nous
widget-title = Chat en direct
widget-connecting = Connexion…
widget-placeholder = Écrivez votre message…
widget-your-message = Votre message
widget-send = Envoyer
widget-email = Votre adresse e-mail
widget-save = Enregistrer
widget-ask-callback = Plutôt être rappelé
widget-phone = Votre numéro de téléphone
widget-call-me = Appelez-moi
widget-reconnecting = Reconnexion…
widget-online = Nous sommes en ligne.
widget-offline = Nous sommes absents ; laissez-nous un message.
widget-callback = Nous vous appellerons au { $phone }.
widget-callback-position = Nous vous appellerons au { $phone } (n° { $position } dans la file).
widget-queued = Vous êtes n° { $position } dans la file d'attente.
widget-queued-wait = Vous êtes n° { $position } dans la file d'attente, environ { $minutes } min.
widget-joined = { $agent } a rejoint la conversation.
widget-typing = En train d'écrire…
widget-email-saved = Merci : nous répondrons à { $email } par e-mail.
widget-ended = La conversation est terminée. Écrivez-nous quand vous voulez.
widget-offline-notice = Aucun agent n'est disponible pour le moment. Votre conversation (ticket n° { $ticket }) est conservée comme ticket, et nous vous répondrons par e-mail.
widget-offline-notice-ask = Aucun agent n'est disponible pour le moment. Votre conversation (ticket n° { $ticket }) est conservée comme ticket : laissez votre adresse e-mail et nous vous répondrons par e-mail.
