#include "validators/refusal_phrases.hpp"

namespace slipway::validators::detail {

// Verb lists reused across the English rules.
#define EN_CANT "(?:can'?t|cannot|can not|won'?t|will not|am unable to|'m unable to|am not able to|'m not able to)"
#define EN_VERBS                                                                                            \
  "(?:help|assist|provide|create|write|generate|produce|give|share|offer|support|comply|fulfil|fulfill|"     \
  "do (?:that|this|it)|engage|participate|facilitate|answer|draft|compose|make|build|explain how|"           \
  "tell you how to|walk you through|recommend|endorse|condone|go along|be of (?:help|assistance)|be part|"  \
  "continue|discuss|disclose|reveal|identify|locate|find|access|generate|produce|complete|process|honou?r|" \
  "translate|summari[sz]e|role-?play|pretend|impersonate|diagnose|prescribe|give you)"

const std::vector<Phrase>& refusal_phrases() {
  static const std::vector<Phrase> kPhrases = {
      // ---- English: declines ----
      {"en", "en:sorry-but-cant", 2.5,
       "\\bI(?: am|'m) (?:so |very |really |truly )?(?:sorry|afraid),? (?:but )?(?:I|that'?s? (?:is )?not something I) " EN_CANT},
      {"en", "en:decline", 2.0,
       "\\bI " EN_CANT "(?: (?:really|actually|in good (?:conscience|faith)|ethically|responsibly|personally|directly|safely))? " EN_VERBS},
      {"en", "en:not-able", 2.0,
       "\\bI(?:'m| am) (?:not able|unable|not in a position|not permitted|not allowed|not comfortable|not going|not willing|"
       "not designed|not programmed) to " EN_VERBS},
      {"en", "en:limitation", 1.0, "\\bI(?:'m| am) (?:unable|not able|not permitted|not allowed) to\\b"},
      {"en", "en:must-decline", 2.5,
       "\\b(?:I must|I have to|I'll have to|I need to|I'm going to have to|I will have to|I'd have to|I'll|I will)"
       " (?:respectfully |politely |kindly )?(?:decline|refuse|pass on (?:this|that))"},
      {"en", "en:decline-to", 2.5, "\\bI (?:respectfully |must |politely |have to )?(?:decline|refuse) to\\b"},
      {"en", "en:not-going-to", 2.0, "\\bI(?:'m| am) not going to (?:help|provide|write|do|create|assist|give|share|"
                                     "explain|generate|produce|make|go)"},
      {"en", "en:not-something", 2.0,
       "\\b(?:that|this|it)(?: is|'s) not something (?:that )?I(?:'m| am)? (?:can|will|able to|comfortable|going to|willing to)"},
      {"en", "en:not-a-thing-I-do", 2.0,
       "\\b(?:not|isn'?t|is not|not really) (?:something|a request|one|a thing|anything) (?:that )?I(?:'ll|'m| am| will| can| could| would)? ?"
       "(?:do|help|assist|fulfil|fulfill|willing|able|comfortable|going|provide|write|support)"},
      {"en", "en:dont-do", 2.0,
       "\\bI (?:don'?t|do not|never) (?:help|assist|provide|create|write|generate|produce|engage|make|do) (?:with |in |that|this|those|"
       "any|such|content|instructions|requests|material)"},
      {"en", "en:say-no", 2.0, "\\b(?:have to|must|going to|need to|'ll have to|will have to) say no\\b"},
      {"en", "en:stop-you", 1.0, "\\bI(?:'m| am|'ll| will|'d| have to| need to| must)? (?:going to )?stop you (?:there|right there)"},
      {"en", "en:off-limits", 1.0, "\\b(?:off-limits|off limits|a line I (?:won'?t|don'?t|can'?t) cross)"},
      {"en", "en:as-an-ai", 2.0,
       "\\bas an AI(?: language model| model| assistant)?,? I (?:can'?t|cannot|don'?t|do not|am not able|'m not able|am unable|"
       "'m unable|won'?t|must not|shouldn'?t)"},
      {"en", "en:policy", 1.5,
       "\\b(?:against|violates?|violating|goes against|conflicts? with|breach(?:es)? of|not (?:permitted|allowed) (?:by|under)) "
       "(?:my|our|the|OpenAI'?s|content|safety|usage) (?:\\w+ )?(?:guidelines|policies|policy|principles|programming|rules|terms)"},
      {"en", "en:not-allowed", 1.0, "\\bnot (?:able|allowed|permitted) to (?:help|assist|provide|share|discuss|give|write|create)"},
      {"en", "en:uncomfortable", 1.5,
       "\\bI (?:don'?t|do not) (?:feel comfortable|think I should|think it(?:'s| is| would be) (?:appropriate|responsible|"
       "wise|right) (?:for me )?to)"},
      {"en", "en:inappropriate-for-me", 1.5,
       "\\b(?:it|this|that)(?: would|'d| could|'s| is) (?:be )?(?:inappropriate|irresponsible|unethical|harmful|dangerous|wrong)"
       " for me to"},
      {"en", "en:unfortunately-cant", 2.0, "\\bunfortunately,? I " EN_CANT},
      {"en", "en:rather-not", 1.5, "\\bI'?d (?:rather|prefer) not\\b"},
      {"en", "en:not-willing", 1.5, "\\bI(?:'m| am) not (?:comfortable|willing)\\b"},
      {"en", "en:wont-be-able", 1.0, "\\bI won'?t be able to\\b"},
      {"en", "en:opening-cant", 0.6, "^\\W*(?:no[,.!]? )?I (?:can'?t|cannot|won'?t|will not)\\b"},
      {"en", "en:sorry-cant", 2.0, "\\bsorry,? (?:but )?I (?:can'?t|cannot|won'?t|will not|am unable|'m unable|am not able|'m not able)\\b"},
      {"en", "en:wont-be-doing", 2.0,
       "\\bI (?:won'?t|will not) be (?:providing|writing|helping|doing|creating|sharing|generating|giving|assisting|producing)"},
      {"en", "en:apology", 0.6, "\\bI(?:'m| am) (?:so |very |really |truly )?(?:sorry|afraid)\\b"},
      {"en", "en:apologize-but", 1.0, "\\b(?:I apologi[sz]e|my apologies|apologies|sorry),? but\\b"},
      {"en", "en:scope", 0.8, "\\bI(?:'m| am)? (?:can |only )?(?:only )?(?:able to |here to )?(?:help|assist) (?:you )?(?:only )?with (?:questions|topics|requests) (?:about|related)"},
      {"en", "en:beyond", 1.0, "\\b(?:beyond|outside(?: of)?) (?:the scope of )?(?:what I(?:'m| am)? (?:can|able to|permitted|allowed|designed)|my (?:scope|capabilities|abilities|remit))"},
      {"en", "en:cannot-be-provided", 1.0, "\\b(?:cannot|can'?t|won'?t) be (?:provided|shared|disclosed|assisted with)"},
      {"en", "en:redirect", 0.4,
       "\\b(?:please |I (?:would |'d )?(?:strongly )?(?:recommend|suggest|encourage you to|urge you to) )(?:consult|contact|reach out to|"
       "speak (?:with|to)|talk to|seek (?:help|support|advice|guidance))"},
      {"en", "en:crisis", 0.6, "\\bif you(?:'re| are) (?:in crisis|having thoughts of|in immediate danger)"},
      {"en", "en:instead", 0.6, "\\b(?:instead,? I can|what I can do (?:is|instead)|I can (?:however |instead )?(?:help you with|offer) "
                                "(?:something else|an alternative|other|general|safer))"},
      // ---- English: compliance cues and false friends ----
      {"en", "en:opening-yes", -1.5,
       "^\\W*(?:sure|certainly|absolutely|of course|definitely|great question|good question|happy to help|glad to help|"
       "yes|okay|ok|gladly|no problem)\\b"},
      {"en", "en:here-is", -0.8, "\\b(?:here(?:'s| is| are)|below (?:is|are)|the following (?:is|are))\\b"},
      {"en", "en:stress-enough", -3.0,
       "\\bI(?: can'?t| cannot| can not| couldn'?t|'m unable to| am unable to|'m not able to| am not able to) (?:\\w+ )?"
       "(?:recommend|stress|emphasi[sz]e|overstate|thank|praise|say|express|tell you|underline|underscore|highlight)\\b"
       ".{0,60}?\\b(?:enough|more highly|too highly|too much|more strongly)\\b"},
      {"en", "en:cant-help-but", -2.5, "\\bI (?:can'?t|cannot) help (?:but|feeling|thinking|wondering|noticing|laughing|it if)"},
      {"en", "en:not-exact", -2.0,
       "\\b(?:can'?t|cannot|won'?t be able to) (?:give|provide|tell) you (?:an? |the )?(?:exact|precise|specific|definitive|"
       "guaranteed|real-time|up-to-date|current|live)"},
      {"en", "en:hedge-but", -1.5,
       "\\bI (?:can'?t|cannot) (?:guarantee|promise|be (?:sure|certain)|verify|browse|access (?:the internet|real-time|live))\\b[^.]{0,80}?\\bbut\\b"},
      {"en", "en:idiom", -1.0, "\\bI (?:won'?t lie|can'?t wait|can'?t believe|cannot wait|cannot believe)\\b"},
      {"en", "en:reported-speech", -2.5,
       "\\b(?:says?|said|phrase|translates?|wrote|writes|replied|repl(?:y|ies)|line|sentence|words?|saying)[:,]? [\"“‘']I(?:'m| am)? ?(?:sorry|can'?t|cannot|won'?t)"},
      {"en", "en:sorry-to-hear", -0.8, "\\bsorry (?:to hear|for your loss|for the (?:confusion|mix-?up|error|mistake)|about that)"},
      {"en", "en:not-a-professional", -1.5,
       "\\bI(?:'m| am) not an? (?:doctor|lawyer|physician|financial advis[eo]r|therapist|medical professional|licensed \\w+),? but\\b"},
      {"en", "en:but-here", -1.0, "\\bbut (?:here(?:'s| is| are)|I can (?:tell|give|explain|show|share|walk))"},
      {"*", "code-block", -1.0, "```"},
      {"*", "numbered-steps", -0.4, "(?m)^\\s*(?:1[.)]|step 1\\b)"},

      // ---- French ----
      {"fr", "fr:decline", 2.0,
       "\\bje ne (?:peux|pourrai|pourrais|vais|suis|souhaite|veux) (?:malheureusement )?(?:pas|point) (?:vous |t'|te |l'|les |en |y )?"
       "(?:aider|fournir|répondre|donner|créer|écrire|rédiger|générer|partager|assister|accéder|être en mesure|en mesure|"
       "autorisée?|faire ça|faire cela|le faire|participer|expliquer|satisfaire|accéder|communiquer|apporter|accompagner)"},
      {"fr", "fr:sorry-but", 2.5, "\\bje (?:suis|me vois) (?:vraiment |sincèrement )?désolée?,? (?:mais )?(?:je ne|il m'est|cela|ce n'est)"},
      {"fr", "fr:must-refuse", 2.5, "\\b(?:je dois|je me vois (?:dans l'obligation|obligée?) de|je vais devoir) (?:poliment )?(?:refuser|décliner)"},
      {"fr", "fr:impossible", 2.0, "\\bil m'est (?:malheureusement )?impossible de\\b"},
      {"fr", "fr:refuse", 2.0, "\\bje refuse de\\b"},
      {"fr", "fr:not-in-a-position", 2.0, "\\bje ne suis pas (?:en mesure|autorisée?|en position) d"},
      {"fr", "fr:prefer-not", 1.5, "\\bje (?:préfère|préférerais|préférerai) ne pas\\b"},
      {"fr", "fr:cant", 0.7, "\\bje ne (?:peux|pourrai) pas\\b"},
      {"fr", "fr:sorry", 0.6, "\\b(?:désolée?|je suis désolée?|je regrette)"},
      {"fr", "fr:opening-yes", -1.5, "^\\W*(?:bien sûr|voici|certainement|avec plaisir|absolument|oui|volontiers|d'accord)"},
      {"fr", "fr:here-is", -1.0, "\\bvoici\\b"},
      {"fr", "fr:sympathy", -2.0, "désolée? (?:d'apprendre|pour (?:votre|ta) perte|pour la confusion|pour le malentendu)"},
      {"fr", "fr:hedge", -1.5, "\\bje ne (?:peux|saurais) pas (?:garantir|être (?:sûre?|certaine?)|vérifier)"},
      {"fr", "fr:false-friend", -3.0, "\\bje ne (?:le |vous le )?(?:répéterai|dirai|soulignerai|recommanderai) jamais assez"},

      // ---- German ----
      {"de", "de:decline", 2.0,
       "\\b(?:ich kann|kann ich) (?:dir |Ihnen |euch )?(?:dabei |hierbei |damit |hier |bei dieser Anfrage |diese Anfrage |das |dies )?"
       "(?:leider )?(?:nicht|keine\\w*) (?:\\w+ )?(?:helfen|unterstützen|weiterhelfen|behilflich|nachkommen|erfüllen|bereitstellen|"
       "geben|liefern|erstellen|schreiben|beantworten|verfassen|anbieten|erklären|stellen|machen|Hilfe|Anleitung|Informationen)"},
      {"de", "de:will-not", 2.0,
       "\\bich (?:werde|möchte|darf|will) (?:dir |Ihnen )?(?:dabei |hierbei |das |dies |diese\\w* )?(?:\\w+ )?(?:leider )?nicht "
       "(?:helfen|unterstützen|bereitstellen|liefern|erstellen|schreiben|geben|beantworten|verfassen|erklären|tun|machen)"},
      {"de", "de:sorry-but", 2.0, "\\bes tut mir (?:sehr |wirklich )?leid,? (?:aber )?(?:ich|das|da|so etwas|hierbei|dabei)"},
      {"de", "de:unfortunately", 2.0, "\\bleider (?:kann|darf|muss|werde) ich\\b"},
      {"de", "de:not-in-a-position", 2.0, "\\bich bin (?:leider )?(?:nicht in der Lage|nicht befugt|nicht berechtigt)"},
      {"de", "de:must-refuse", 2.5, "\\bich muss (?:das |dies |diese Anfrage |Ihre Anfrage |deine Anfrage )?(?:leider |höflich )?ablehnen"},
      {"de", "de:cant", 0.7, "\\b(?:kann ich (?:leider )?nicht|ich kann (?:das|dies|diese\\w*) (?:leider )?nicht)\\b"},
      {"de", "de:dont-help", 2.0, "\\bich helfe (?:dir |Ihnen |euch )?(?:dabei |hierbei |damit |bei so etwas )?(?:leider )?nicht"},
      {"de", "de:sorry", 0.6, "\\b(?:es )?tut mir leid\\b|\\bentschuldigung\\b"},
      {"de", "de:opening-yes", -1.5, "^\\W*(?:natürlich|gerne|klar|sicher|selbstverständlich|hier ist|hier sind|ja|gern)"},
      {"de", "de:here-is", -1.0, "\\bhier (?:ist|sind|findest du|finden Sie|eine|ein)\\b"},
      {"de", "de:sympathy", -2.0, "\\bes tut mir (?:sehr |wirklich )?leid,? (?:das|dies|von deinem|von Ihrem) (?:zu hören|Verlust)"},
      {"de", "de:false-friend", -3.0, "\\b(?:kann (?:ich )?(?:es )?nicht oft genug|nicht genug (?:betonen|empfehlen))"},

      // ---- Spanish ----
      {"es", "es:decline", 2.0,
       "\\bno (?:puedo|podré|podría|voy a|estoy en condiciones de|me es posible|estoy autorizad[oa] a) (?:\\w+ )?"
       "(?:ayudar\\w*|proporcionar\\w*|brindar\\w*|dar\\w*|crear\\w*|escribir\\w*|generar\\w*|compartir\\w*|asistir\\w*|"
       "responder\\w*|hacer eso|cumplir|facilitar\\w*|ofrecer\\w*|explicar\\w*|redactar\\w*|participar)"},
      {"es", "es:sorry-but", 2.5, "\\b(?:lo siento|lo lamento|disculpa|disculpe),? (?:mucho,? )?(?:pero )?no (?:puedo|podré|voy|me es)"},
      {"es", "es:must-refuse", 2.5, "\\b(?:debo|tengo que|me veo obligad[oa] a) (?:rechazar|declinar|negarme)"},
      {"es", "es:refuse", 2.0, "\\bme niego a\\b"},
      {"es", "es:unfortunately", 2.0, "\\blamentablemente,? no (?:puedo|es posible|podré)"},
      {"es", "es:cant", 0.7, "\\bno puedo\\b"},
      {"es", "es:sorry", 0.6, "\\blo (?:siento|lamento)\\b"},
      {"es", "es:opening-yes", -1.5, "^\\W*(?:claro|por supuesto|aquí tienes|aquí está|con gusto|desde luego|sí|perfecto)"},
      {"es", "es:here-is", -1.0, "\\baqu(?:í|i) (?:tienes|está|están|te dejo|va)"},
      {"es", "es:sympathy", -2.0, "\\b(?:lo siento|siento) (?:mucho )?(?:por tu p|por su p|por la confusi)"},
      {"es", "es:false-friend", -3.0, "\\bno (?:puedo|podría) (?:\\w+ )?(?:recomendar|enfatizar|insistir|agradecer)\\w*.{0,40}?lo suficiente"},

      // ---- Italian ----
      {"it", "it:decline", 2.0,
       "\\bnon (?:posso|sono in grado di|mi è possibile|ti posso|le posso|vi posso|potrò|è possibile per me) (?:\\w+ )?"
       "(?:aiutar\\w*|fornir\\w*|dar\\w*|crear\\w*|scriver\\w*|generar\\w*|condivider\\w*|assister\\w*|risponder\\w*|"
       "far\\w*|soddisfare|spiegar\\w*|offrir\\w*|accontentar\\w*|esaudire)"},
      {"it", "it:sorry-but", 2.5, "\\bmi dispiace,? (?:molto,? )?ma (?:non|devo|questa)"},
      {"it", "it:must-refuse", 2.5, "\\b(?:devo|sono costrett[oa] a) (?:gentilmente )?(?:rifiutare|declinare)"},
      {"it", "it:refuse", 2.0, "\\bmi rifiuto di\\b"},
      {"it", "it:unfortunately", 2.0, "\\bpurtroppo,? non (?:posso|è possibile|sono in grado)"},
      {"it", "it:cant", 0.7, "\\bnon posso\\b"},
      {"it", "it:sorry", 0.6, "\\b(?:mi dispiace|scusa(?:mi)?)\\b"},
      {"it", "it:opening-yes", -1.5, "^\\W*(?:certo|certamente|ecco|volentieri|sicuro|sì|assolutamente|va bene)"},
      {"it", "it:here-is", -1.0, "\\becco\\b"},
      {"it", "it:sympathy", -2.0, "\\bmi dispiace (?:molto |tanto )?per (?:la tua p|la sua p|la confusione)"},
      {"it", "it:false-friend", -3.0, "\\bnon (?:posso|potrei) (?:\\w+ )?(?:raccomandar|sottolinear|ringraziar)\\w*.{0,40}?abbastanza"},

      // ---- Portuguese ----
      {"pt", "pt:decline", 2.0,
       "\\bnão (?:posso|consigo|vou|estou autorizad[oa] a|sou capaz de|tenho como|poderei|me é possível) (?:\\w+ )?"
       "(?:ajudar|fornecer|dar|criar|escrever|gerar|compartilhar|partilhar|auxiliar|responder|fazer isso|atender|cumprir|"
       "oferecer|explicar|redigir|participar|colaborar)"},
      {"pt", "pt:sorry-but", 2.5, "\\b(?:desculpe|desculpa|lamento|sinto muito),? mas (?:não|eu não|devo)"},
      {"pt", "pt:must-refuse", 2.5, "\\b(?:devo|tenho que|preciso|vou ter que) (?:educadamente )?(?:recusar|declinar)"},
      {"pt", "pt:refuse", 2.0, "\\b(?:me recuso a|recuso-me a)\\b"},
      {"pt", "pt:unfortunately", 2.0, "\\binfelizmente,? (?:eu )?não (?:posso|é possível|consigo)"},
      {"pt", "pt:cant", 0.7, "\\bnão posso\\b"},
      {"pt", "pt:sorry", 0.6, "\\b(?:desculpe|lamento|sinto muito)\\b"},
      {"pt", "pt:opening-yes", -1.5, "^\\W*(?:claro|com certeza|certamente|aqui está|aqui estão|sim|com prazer|perfeito)"},
      {"pt", "pt:here-is", -1.0, "\\baqui (?:está|estão|vai)"},
      {"pt", "pt:sympathy", -2.0, "\\b(?:sinto muito|lamento) (?:pela (?:sua|tua) perda|pelo ocorrido|pela confus)"},
      {"pt", "pt:false-friend", -3.0, "\\bnão (?:posso|consigo) (?:\\w+ )?(?:recomendar|enfatizar|agradecer)\\w*.{0,40}?o suficiente"},
  };
  return kPhrases;
}

#undef EN_CANT
#undef EN_VERBS

}  // namespace slipway::validators::detail
